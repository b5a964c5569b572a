/** One page as {@link paginate} expects it: the items and the token of the next page, if any. */
export interface Page<T> {
  items: readonly T[];
  nextPageToken?: string | undefined;
}

/**
 * Yields every item of a paged MLflow listing, fetching page after page until the server
 * answers without `next_page_token`. Pages are fetched lazily: breaking out of the loop stops.
 * A server that hands back the token it was given would loop forever; that is an error.
 *
 * @example
 * for await (const run of paginate((token) => fetchRunsPage(token))) console.log(run.info.run_id);
 */
export async function* paginate<T>(fetchPage: (pageToken: string | undefined) => Promise<Page<T>>) {
  let token: string | undefined;
  for (;;) {
    const page = await fetchPage(token);
    yield* page.items;
    const next = page.nextPageToken;
    if (next === undefined || next === '') return;
    if (next === token) throw new Error(`The server returned the same page token twice ('${next}')`);
    token = next;
  }
}

/**
 * Collects every item of {@link paginate} into an array.
 * @example const all = await collectPages((token) => fetchPage(token));
 */
export async function collectPages<T>(
  fetchPage: (pageToken: string | undefined) => Promise<Page<T>>,
): Promise<T[]> {
  const all: T[] = [];
  for await (const item of paginate(fetchPage)) all.push(item);
  return all;
}
