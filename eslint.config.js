/**
 * ESLint flat config (typescript-eslint): the type-checked recommended rules over src/,
 * test/, bench/ and the JavaScript files, with type information from tsconfig.test.json
 * (which includes all three folders), plus the structural limits for src/: no function
 * over 60 lines (blank lines and comments not counted), no block nested more than 3 deep.
 * Layout is Prettier's job (.prettierrc; `npm run lint` runs `prettier --check` as well),
 * so no stylistic rule is on here. docs/architecture.md ("Lint and format") says why this
 * tool, and why each rule below is off or tuned.
 */
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'fuzz-findings/**', 'coverage/**', 'traces/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        project: './tsconfig.test.json',
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Interface methods with default bodies name their unused parameters `_x` on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
      // The trace reader throws LineFault, a plain value (no stack to capture per bad row)
      // that is also yielded as data; it never escapes the reader.
      '@typescript-eslint/only-throw-error': ['error', { allow: [{ from: 'file', name: 'LineFault', path: 'src/trace/lines.ts' }] }],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true }],
      'max-depth': ['error', 3],
    },
  },
  {
    // Tests read the CLI's JSON output and fixtures as untyped data on purpose: the shape
    // is what they check, so typing it first would assume what they test.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: { process: 'readonly', console: 'readonly' } },
  },
);
