import { awsManagedPolicyDocument } from '../../lib/verify/model/aws-managed-policies';

/**
 * Documents of the AWS managed policies the tests attach: the same documents `verify` ships (each
 * grants at least what AWS's version grants). A reference to any other AWS managed policy fails
 * the test rather than being evaluated as empty.
 */
export const AWS_MANAGED_POLICIES: Record<string, unknown> = Object.fromEntries(
  ['AdministratorAccess', 'PowerUserAccess', 'IAMFullAccess', 'ReadOnlyAccess']
    .map((name) => `arn:aws:iam::aws:policy/${name}`)
    .map((arn) => [arn, awsManagedPolicyDocument(arn)])
    .filter(([, doc]) => doc !== undefined),
);
