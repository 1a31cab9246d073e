#!/bin/sh
# Unpacks node and dawn.node (xz) in place; run.sh calls it when they are missing
# (written by `npm run pack:offline`; see docs/offline.md).
# Needs xz, or python3 (its lzma module) where xz is not installed.
set -e
here=$(cd "$(dirname "$0")" && pwd)
unxz_to() { # <file.xz> <dest>
  [ -f "$2" ] && return 0
  if command -v xz >/dev/null 2>&1; then xz -dc "$1" > "$2.tmp"
  elif command -v python3 >/dev/null 2>&1; then python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2.tmp"
  else echo "metarl setup: neither xz nor python3 is installed here, so $1 cannot be unpacked; unpack it elsewhere (xz -dk) and copy it to $2" >&2; exit 1
  fi
  chmod +x "$2.tmp" && mv "$2.tmp" "$2"
}
if [ ! -w "$here" ]; then echo "metarl setup: $here is not writable; copy the folder somewhere that is" >&2; exit 1; fi
mkdir -p "$here/bin"
unxz_to "$here/node.xz" "$here/bin/node"
unxz_to "$here/dawn.node.xz" "$here/app/node_modules/webgpu/dist/linux-x64/dawn.node"
