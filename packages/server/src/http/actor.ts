import type { Actor } from '../changes/change.js';
import type { RpcContext } from './rpc.js';

/** Header naming the caller when no Basic-auth credentials are sent (until Keel has auth). */
export const USER_HEADER = 'x-keel-user';

/**
 * Who is calling, for change records: the user name of a Basic `Authorization` header (what
 * MLflow clients send with `MLFLOW_TRACKING_USERNAME`), else the `x-keel-user` header, else
 * `anonymous`; the request id comes from the context. Credentials are not checked here. A Bearer
 * token names no one (Keel has no token-to-user mapping), and a Basic value without the `:` that
 * RFC 7617 requires is ignored: it may be a bare secret, which must not become an actor.
 *
 * @example
 * // Authorization: Basic YWxpY2U6c2VjcmV0  ("alice:secret")
 * actorOf(context) // { user: 'alice', requestId: 'req-1' }
 */
export function actorOf(context: RpcContext): Actor {
  return { user: callerOf(context.request.headers), requestId: context.requestId };
}

/** The user named by a request's headers, by {@link actorOf}'s rules; `anonymous` when none is. */
export function callerOf(headers: Record<string, string | string[] | undefined>): string {
  return userOf(headers) ?? 'anonymous';
}

function userOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  const authorization = first(headers.authorization);
  const basic =
    authorization === undefined ? undefined : /^basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(authorization);
  if (basic) {
    const decoded = Buffer.from(basic[1] as string, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = colon === -1 ? undefined : decoded.slice(0, colon);
    if (user !== undefined && isPrintable(user)) return user;
  }
  const header = first(headers[USER_HEADER])?.trim();
  return header !== undefined && isPrintable(header) ? header : undefined;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function isPrintable(user: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters make a user name unusable in logs.
  return user !== '' && user.length <= 256 && !/[\u0000-\u001f\u007f]/.test(user);
}
