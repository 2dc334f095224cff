// Convolution and pooling layers against PyTorch's values on the same weights and inputs.
import { testAgainstTorch } from './torch-fixtures.js';

testAgainstTorch((layer) => /Conv|Pool/.test(layer));
