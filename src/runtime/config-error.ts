// The error for bad flags and configuration files: reported as one line and a non-zero exit.

/** Bad flags or configuration. The message is one line, meant for the user as is. */
export class ConfigError extends Error {
  readonly code = 'CONFIG' as const;
  override readonly name = 'ConfigError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
