{
  "variables": {
    "asan%": 0,
    "openblas%": "<!(node scripts/build-native.mjs --has-openblas)",
    # The hot kernels, compiled once per instruction set into a namespace of their own (see
    # src/backend/native/isa.h); dispatch.cc picks one set at load time from CPUID.
    "isa_sources": [
      "src/backend/native/elementwise.cc",
      "src/backend/native/reduce.cc",
      "src/backend/native/indexing.cc",
      "src/backend/native/window.cc",
      "src/backend/native/conv.cc",
      "src/backend/native/winograd.cc",
      "src/backend/native/recurrent.cc",
      "src/backend/native/attention.cc"
    ]
  },
  "target_defaults": {
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
    "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
    "cflags_cc": ["-std=c++17", "-fexceptions", "-O3", "-fno-math-errno", "-Wall", "-Wno-unused-function"],
    "conditions": [
      ["target_arch=='x64'", {"defines": ["STRATA_ISA_X86_64"]}],
      ["asan==1", {
        "cflags_cc": ["-fsanitize=address", "-fno-omit-frame-pointer", "-g", "-O1"],
        "ldflags": ["-fsanitize=address"]
      }],
      ["OS=='mac'", {
        "xcode_settings": {
          "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
          "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O3", "-fno-math-errno"]
        }
      }],
      ["OS!='mac' and openblas==1", {
        "defines": ["STRATA_HAVE_OPENBLAS"],
        "cflags_cc": ["<!@(pkg-config --cflags openblas)"]
      }]
    ]
  },
  "targets": [
    {
      "target_name": "strata_native",
      "sources": [
        "src/backend/native/addon.cc",
        "src/backend/native/cpu.cc",
        "src/backend/native/dispatch.cc",
        "src/backend/native/linalg.cc",
        "src/backend/native/gemm.cc"
      ],
      # The baseline set links first, then AVX2's, then AVX-512's: the linker keeps the first copy of a
      # template that several sets instantiate (std::vector<float>'s, say), so every caller gets a copy
      # compiled for its own instruction set or a lower one.
      "dependencies": ["strata_isa_base"],
      "conditions": [
        ["target_arch=='x64'", {"dependencies": ["strata_isa_avx2", "strata_isa_avx512"]}],
        ["OS=='mac'", {"libraries": ["-framework Accelerate"]}],
        ["OS!='mac' and openblas==1", {"libraries": ["<!@(pkg-config --libs openblas)"]}]
      ]
    },
    {
      "target_name": "strata_isa_base",
      "type": "static_library",
      "sources": ["<@(isa_sources)"],
      "defines": ["STRATA_ISA_NS=isa_base"]
    }
  ],
  "conditions": [
    ["target_arch=='x64'", {
      "targets": [
        {
          "target_name": "strata_isa_avx2",
          "type": "static_library",
          "sources": ["<@(isa_sources)"],
          "defines": ["STRATA_ISA_NS=isa_avx2"],
          "cflags_cc": ["-march=x86-64-v3"],
          "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["-march=x86-64-v3"]}
        },
        {
          "target_name": "strata_isa_avx512",
          "type": "static_library",
          "sources": ["<@(isa_sources)"],
          "defines": ["STRATA_ISA_NS=isa_avx512"],
          "cflags_cc": ["-march=x86-64-v4"],
          "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["-march=x86-64-v4"]}
        }
      ]
    }]
  ]
}
