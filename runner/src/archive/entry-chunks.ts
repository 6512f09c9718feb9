/** Helpers for reading the start of a tar entry's content and then the rest of it. */

/** Reads chunks until at least `bytes` bytes (or the end); returns them joined and as read. */
export async function peek(chunks: AsyncIterator<Buffer>, bytes: number): Promise<{ head: Buffer; read: Buffer[] }> {
  const read: Buffer[] = [];
  let length = 0;
  while (length < bytes) {
    const next = await chunks.next();
    if (next.done) break;
    read.push(next.value);
    length += next.value.length;
  }
  return { head: Buffer.concat(read), read };
}

/** The chunks already read, then the rest of the iterator. */
export async function* prepend(first: Buffer[], rest: AsyncIterator<Buffer>): AsyncIterable<Buffer> {
  yield* first;
  for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
}

/** Reads an iterator to its end, discarding the chunks. */
export async function drain(chunks: AsyncIterator<Buffer>): Promise<void> {
  while (!(await chunks.next()).done);
}
