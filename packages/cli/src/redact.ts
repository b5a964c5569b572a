/**
 * Hides the password of a URI before it is printed: `postgresql://keel:secret@db/keel` becomes
 * `postgresql://keel:***@db/keel`. Strings that are not URIs come back unchanged.
 */
export function redactUri(uri: string): string {
  return uri.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/:@]*:)[^/@]*@/i, '$1***@');
}
