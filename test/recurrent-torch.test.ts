// Recurrent and embedding layers against PyTorch's values on the same weights and inputs.
import { testAgainstTorch } from './torch-fixtures.js';

testAgainstTorch((layer) => /RNN|LSTM|GRU|Embedding/.test(layer));
