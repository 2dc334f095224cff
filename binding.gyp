{
  "variables": {
    "asan%": 0,
    "openblas%": "<!(node scripts/build-native.mjs --has-openblas)"
  },
  "targets": [
    {
      "target_name": "strata_native",
      "sources": [
        "src/backend/native/addon.cc",
        "src/backend/native/elementwise.cc",
        "src/backend/native/reduce.cc",
        "src/backend/native/linalg.cc",
        "src/backend/native/gemm.cc",
        "src/backend/native/indexing.cc",
        "src/backend/native/window.cc",
        "src/backend/native/conv.cc",
        "src/backend/native/recurrent.cc",
        "src/backend/native/winograd.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O3", "-fno-math-errno", "-Wall", "-Wno-unused-function"],
      "conditions": [
        ["asan==1", {
          "cflags_cc": ["-fsanitize=address", "-fno-omit-frame-pointer", "-g", "-O1"],
          "ldflags": ["-fsanitize=address"]
        }],
        ["OS=='mac'", {
          "libraries": ["-framework Accelerate"],
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O3", "-fno-math-errno"]
          }
        }],
        ["OS!='mac' and openblas==1", {
          "defines": ["STRATA_HAVE_OPENBLAS"],
          "cflags_cc": ["<!@(pkg-config --cflags openblas)"],
          "libraries": ["<!@(pkg-config --libs openblas)"]
        }]
      ]
    }
  ]
}
