import tseslint from 'typescript-eslint';

const processExit = {
  selector: "MemberExpression[object.name='process'][property.name='exit']",
  message: 'exits go through src/cli/main.ts: return an exit code, throw an RqctlError, or call exitNow() (src/cli/signals.ts)',
};
const processEnv = {
  selector: "MemberExpression[object.name='process'][property.name='env']",
  message: 'only src/config (and the CLI layer) read the environment: resolve it into Config once',
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.rqctl/**', 'bench/results.json'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  {
    // The core never prints, exits, parses argv or reads the environment: that is the CLI layer's
    // and the config resolver's job (STYLE.md, docs/architecture.md).
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: ['commander', 'chalk', 'ora', 'cli-table3', '@inquirer/prompts'].map((name) => ({ name, message: 'only src/cli/** may import this' })) },
      ],
      'no-console': 'error',
      'no-restricted-syntax': ['error', processExit, processEnv],
    },
  },
  {
    files: ['src/config/**/*.ts'],
    rules: { 'no-restricted-syntax': ['error', processExit] },
  },
  {
    // Within the CLI, only main.ts exits (the one top-level catch).
    files: ['src/cli/**/*.ts'],
    ignores: ['src/cli/main.ts'],
    rules: { 'no-restricted-syntax': ['error', processExit] },
  },
);
