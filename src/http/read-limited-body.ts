/** What reading a request body produced: its bytes, or why it was refused. */
export type BodyRead = { ok: true; body: Buffer } | { ok: false; status: 400 | 413 };

/**
 * Reads a request body up to `maxBytes`, refusing a larger one without buffering it (a declared
 * Content-Length over the limit is refused before reading anything).
 */
export async function readLimitedBody(request: Request, maxBytes: number): Promise<BodyRead> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) return { ok: false, status: 413 };
  if (!request.body) return { ok: true, body: Buffer.alloc(0) };
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        return { ok: false, status: 413 };
      }
      chunks.push(value);
    }
  } catch {
    return { ok: false, status: 400 };
  }
  return { ok: true, body: Buffer.concat(chunks) };
}
