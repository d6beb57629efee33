# Keys in authorized_keys files compared by their fields (key type and base64 blob), never by
# substring: a comment or an option may hold any text. A line is read as sshd reads it: a first
# field that is a key type starts the key; else that field is the options (quoted parts may hold
# spaces, \" is a quote) and the key follows. Comments and blank lines hold no key; a line that
# does not parse still counts as one (its fields compare equal to no key).
authorized_key_awk='
function key_of(line,   i, n, c, q, f) {
  if (line ~ /^[ \t\r]*(#|$)/) return ""
  sub(/^[ \t]+/, "", line)
  if (line !~ /^(ssh-|ecdsa-|sk-)/) {
    n = length(line); q = 0
    for (i = 1; i <= n; i++) {
      c = substr(line, i, 1)
      if (!q && (c == " " || c == "\t")) break
      if (c == "\\" && substr(line, i + 1, 1) == "\"") i++
      else if (c == "\"") q = !q
    }
    line = substr(line, i + 1)
    sub(/^[ \t]+/, "", line)
  }
  split(line, f, /[ \t]+/)
  return f[1] " " f[2]
}'
# key_fields FILE: "TYPE BLOB", one line for each key in FILE.
key_fields() { awk "$authorized_key_awk"' { k = key_of($0); if (k != "") print k }' "$1"; }
# without_key "TYPE BLOB" FILE: FILE's lines but those holding that key.
without_key() { awk -v key="$1" "$authorized_key_awk"' key_of($0) != key' "$2"; }
