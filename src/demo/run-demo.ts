/** `npm run demo`: filled in by the return-path work. */
export async function runDemo(_options: { fast: boolean }): Promise<number> {
  process.stderr.write('The demo is not built yet.\n');
  return 1;
}
