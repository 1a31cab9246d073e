/**
 * Every error metarl throws on purpose is a `MetarlError` with a stable `code`,
 * a message that names the culprit and says what to do, and optional details.
 */
export type MetarlErrorCode =
  | 'METARL_UNKNOWN_ENV'
  | 'METARL_UNKNOWN_AGENT'
  | 'METARL_UNKNOWN_BACKEND'
  | 'METARL_BACKEND_UNAVAILABLE'
  | 'METARL_CONFIG_INVALID'
  | 'METARL_SPEC_MISMATCH'
  | 'METARL_BAD_ACTION'
  | 'METARL_NON_FINITE'
  | 'METARL_ENV_FAILED'
  | 'METARL_FAMILY_INVALID'
  | 'METARL_CHECKPOINT_MISSING'
  | 'METARL_CHECKPOINT_CORRUPT'
  | 'METARL_NAN_LOSS'
  | 'METARL_DISPOSED'
  | 'METARL_PROTOCOL'
  | 'METARL_FILE_MISSING'
  | 'METARL_FILE_ERROR'
  | 'METARL_RUN_EXISTS'
  | 'METARL_STEP_TIMEOUT'
  | 'METARL_RESOURCE_LIMIT'
  | 'METARL_WORKER_FAILED'
  /** No live queue worker could take a shard within the wait (`--queue`): start `metarl worker` processes. */
  | 'METARL_NO_WORKERS'
  /** The Redis/Valkey server of `--queue` did not answer within the wait. */
  | 'METARL_QUEUE_UNREACHABLE'
  /** A queue worker runs another metarl version than the learner: its shards would be other numbers. */
  | 'METARL_VERSION_MISMATCH'
  /** metarl's own parts used out of order (e.g. sampling a buffer before anything was added): a bug, not a user error. */
  | 'METARL_INTERNAL';

export class MetarlError extends Error {
  readonly code: MetarlErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: MetarlErrorCode, message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MetarlError';
    this.code = code;
    this.details = details;
  }
}

export function isMetarlError(err: unknown, code?: MetarlErrorCode): err is MetarlError {
  return err instanceof MetarlError && (code === undefined || err.code === code);
}

/** "a", "b" or "c": for messages that list the valid choices. */
export function listChoices(choices: readonly string[]): string {
  const quoted = choices.map((c) => `'${c}'`);
  if (quoted.length <= 1) return quoted.join('');
  return `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`;
}
