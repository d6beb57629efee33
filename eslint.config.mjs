import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.cache/**', 'examples/**', 'bench/fabfile*'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
      'no-restricted-properties': [
        'error',
        {
          object: 'utils',
          property: 'generateKeyPairSync',
          message: "ssh2's generator truncates one ed25519 key in 256: use randomEd25519 (platform/host-key.ts)",
        },
      ],
    },
  },
  {
    // Workflow code is replayed: no Node APIs, no clocks, no randomness outside the SDK.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['node:*', 'fs', 'child_process', 'ssh2', 'dots-wrapper', '**/activities/**', '**/platform/**'] },
      ],
    },
  },
);
