/**
 * The failure types activities raise that retrying cannot mend: the workflow's retry policies
 * list them as non-retryable, the activities throw them by these names.
 */
export const FailureType = {
  /** The spec or a workflow input is malformed (checked again on the worker). */
  Spec: 'SpecError',
  /** The build context is missing, corrupt or unsafe. */
  Context: 'ContextError',
  StoreConfig: 'StoreConfigError',
  /** DigitalOcean or the Vendor API refused the request for good (4xx but a pending event). */
  PermanentApi: 'PermanentApiError',
  ScriptFailed: 'ScriptFailed',
  ValidationFailed: 'ValidationFailed',
  VerifyFailed: 'VerifyFailed',
  HostKeyMismatch: 'HostKeyMismatch',
  MissingWorkerEnv: 'MissingWorkerEnv',
} as const;

export const NON_RETRYABLE: string[] = Object.values(FailureType);
