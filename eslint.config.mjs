// Lint for the whole repository (npm test runs it first): typescript-eslint's recommended rules,
// no import cycles, runtime/ code free of aws-cdk-lib, the CLI depended on by nothing, lines of at most 150 characters.
import stylistic from '@stylistic/eslint-plugin';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'cdk.out/**', 'test-artifacts/**', 'coverage/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX, '@stylistic': stylistic },
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json'] })],
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
    },
    rules: {
      '@stylistic/max-len': ['error', { code: 150, ignoreUrls: true, ignoreRegExpLiterals: true }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['lib/**/*.ts'],
    ignores: ['lib/cli/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/cli/*', '**/cli'], message: 'Features never depend on the CLI; the CLI depends on features.' }] }],
    },
  },
  {
    files: ['lib/**/runtime/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs', 'cdk-nag'], message: 'Lambda runtime code is bundled without the CDK: import only shared/ and the AWS SDK.' },
          { regex: '^\\.\\./(?!\\.\\./shared/)', message: 'runtime/ imports only lib/shared, its own runtime/ folder and the AWS SDK.' },
        ],
      }],
    },
  },
  {
    files: ['lib/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs', 'cdk-nag'], allowTypeImports: true, message: 'shared/ is CDK-free (type imports only).' },
          { group: ['../*/**', '../*'], message: 'shared/ depends on no feature.' }],
      }],
    },
  },
);
