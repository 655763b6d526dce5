#!/usr/bin/env bash
# Checks that every "// [readme: topic]" ... "// [/readme]" block of the
# examples appears verbatim (without the marker's indentation) in README.md.
#   examples/check_readme.sh          names each block README.md lacks; exit 1 if any
#   examples/check_readme.sh --print  prints every block, ready to paste
set -euo pipefail
cd "$(dirname "$0")/.."
readme=$(cat README.md)
status=0
for file in examples/*.cpp; do
  for topic in $(sed -n 's|^ *// \[readme: \(.*\)\]$|\1|p' "$file"); do
    block=$(awk -v topic="$topic" '
      $0 == "// [readme: " topic "]" || $0 ~ "^ +// \\[readme: " topic "\\]$" {
        inside = 1; match($0, /^ */); indent = RLENGTH; next
      }
      inside && $0 ~ /^ *\/\/ \[\/readme\]$/ { exit }
      inside { print (substr($0, 1, indent) ~ /^ *$/) ? substr($0, indent + 1) : $0 }
    ' "$file")
    if [ "${1:-}" = "--print" ]; then
      printf '=== %s (%s)\n%s\n' "$topic" "$file" "$block"
    elif [[ "$readme" != *"$block"* ]]; then
      echo "README.md lacks the current '$topic' block of $file"
      status=1
    fi
  done
done
exit $status
