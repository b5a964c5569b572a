/** The header naming the caller when the `Authorization` header cannot (a Bearer token). */
const USER_HEADER = 'x-keel-user';

/**
 * Who the client says it is, sent with every request so that Keel's audit log and prediction
 * records name the caller. Keel does not check them yet; a server with authentication in front
 * (or an MLflow server with `--app-name basic-auth`) does.
 */
export interface TrackingCredentials {
  /**
   * User name, sent with {@link password} as `Authorization: Basic` (alone, as `user:`; beside a
   * {@link token}, in the `x-keel-user` header).
   * @default `KEEL_TRACKING_USERNAME`, then `MLFLOW_TRACKING_USERNAME` (see {@link resolveCredentials})
   */
  username?: string;
  /**
   * Password of {@link username}.
   * @default `KEEL_TRACKING_PASSWORD`, then `MLFLOW_TRACKING_PASSWORD`
   */
  password?: string;
  /**
   * Token sent as `Authorization: Bearer <token>` when there is no user name and password pair.
   * @default `KEEL_TRACKING_TOKEN`, then `MLFLOW_TRACKING_TOKEN`
   */
  token?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Where credentials come from, in order; the first that names a user or a token supplies all three. */
const ENV_PREFIXES = ['KEEL_TRACKING_', 'MLFLOW_TRACKING_'] as const;

/**
 * Picks the credentials: the explicit ones, else the `KEEL_TRACKING_USERNAME` / `_PASSWORD` /
 * `_TOKEN` variables, else the `MLFLOW_TRACKING_*` ones (what MLflow's clients read). Sources are
 * not mixed: the first that sets a user name or a token supplies all three values, so a token
 * given in code is never paired with a password from the environment. Empty strings count as
 * unset.
 *
 * @example
 * resolveCredentials({}, { MLFLOW_TRACKING_USERNAME: 'alice' }); // { username: 'alice' }
 */
export function resolveCredentials(
  explicit: TrackingCredentials = {},
  env: Env = typeof process === 'undefined' ? {} : process.env,
): TrackingCredentials {
  const sources = [
    explicit,
    ...ENV_PREFIXES.map((prefix) => ({
      username: env[`${prefix}USERNAME`],
      password: env[`${prefix}PASSWORD`],
      token: env[`${prefix}TOKEN`],
    })),
  ].map(withoutEmpty);
  return sources.find((s) => s.username !== undefined || s.token !== undefined) ?? {};
}

/**
 * The headers that carry the credentials, following MLflow's client: a user name and password
 * pair → `Authorization: Basic`; else a token → `Authorization: Bearer` (plus `x-keel-user` when
 * a user name is given, so Keel can still name the caller); else a user name alone → Basic
 * `user:`. Throws a `TypeError` naming the field (never its value) for credentials that
 * cannot be sent.
 *
 * @example
 * credentialHeaders({ username: 'alice', password: 'secret' }); // { authorization: 'Basic YWxpY2U6c2VjcmV0' }
 */
export function credentialHeaders(credentials: TrackingCredentials): Record<string, string> {
  const { username, password, token } = withoutEmpty(credentials);
  if (username !== undefined) checkUsername(username);
  if (username !== undefined && password !== undefined) return { authorization: basic(username, password) };
  if (token !== undefined) {
    if (!/^[\x21-\x7e]+$/.test(token)) {
      throw new TypeError('Invalid token: expected visible ASCII characters without spaces');
    }
    if (username === undefined) return { authorization: `Bearer ${token}` };
    if (!/^[\x20-\x7e\u00a0-\u00ff]+$/.test(username) || username.trim() !== username) {
      throw new TypeError(
        'Invalid username: beside a token it is sent in the x-keel-user header, which takes Latin-1 text without surrounding spaces',
      );
    }
    return { authorization: `Bearer ${token}`, [USER_HEADER]: username };
  }
  return username === undefined ? {} : { authorization: basic(username, '') };
}

/** A user name Basic authentication can carry and Keel's audit log can record. */
function checkUsername(username: string): void {
  if (username.includes(':')) {
    throw new TypeError("Invalid username: ':' is not allowed (Basic authentication splits on it)");
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the server refuses such names as actors.
  if (/[\u0000-\u001f\u007f]/.test(username)) {
    throw new TypeError('Invalid username: control characters are not allowed');
  }
}

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

function withoutEmpty(credentials: TrackingCredentials): TrackingCredentials {
  const out: TrackingCredentials = {};
  for (const key of ['username', 'password', 'token'] as const) {
    const value = credentials[key];
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out;
}
