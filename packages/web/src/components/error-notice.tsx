import { ApiError, ConnectionError } from '../api/client';

/** Props of {@link ErrorNotice}. */
export interface ErrorNoticeProps {
  error: unknown;
  /** What failed, e.g. `Could not load the runs`. */
  title: string;
}

/**
 * Shows a failed request: the server's message and error code for an {@link ApiError}, a hint to
 * check the server for a {@link ConnectionError}. Announced to screen readers (`role="alert"`).
 */
export function ErrorNotice({ error, title }: ErrorNoticeProps) {
  return (
    <div className="error-notice" role="alert">
      <strong>{title}</strong>
      <p>{messageOf(error)}</p>
      {error instanceof ApiError && <p className="error-code mono">{error.code}</p>}
    </div>
  );
}

/** The text to show for an error thrown by the API client (or anything else). */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof ConnectionError) return `${error.message}. Is \`keel server\` running?`;
  return error instanceof Error ? error.message : String(error);
}
