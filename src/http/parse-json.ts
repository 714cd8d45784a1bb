/** The JSON a body holds, or undefined when it is not JSON (a request error, never a throw). */
export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}
