/** Quotes a string for bash: the one quoting helper, used for every value put into a remote command. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
