#!/bin/sh
# metarl, offline (written by `npm run pack:offline`; see docs/offline.md).
#   ./run.sh <metarl command> [flags]   every metarl command; ./run.sh --help lists them
#   ./run.sh bench [-- name ...]         the benchmarks, as `npm run bench`
#   ./run.sh --version
# METARL_VULKAN_LOADER=auto|bundled|system: the Vulkan loader to use (auto: the machine's if
# ldconfig lists one, else lib/libvulkan.so.1). VK_ICD_FILENAMES / VK_DRIVER_FILES as Vulkan reads them.
set -e
here=$(cd "$(dirname "$0")" && pwd)
[ -x "$here/bin/node" ] && [ -f "$here/app/node_modules/webgpu/dist/linux-x64/dawn.node" ] || "$here/setup.sh"

ldconfig_lists() { # <soname>: whether the dynamic linker's cache has it
  for ldconfig in /sbin/ldconfig /usr/sbin/ldconfig ldconfig; do
    if "$ldconfig" -p >/dev/null 2>&1; then "$ldconfig" -p | grep -q "^[[:space:]]*$1 "; return; fi
  done
  return 1
}
case "${METARL_VULKAN_LOADER:-auto}" in
  bundled) use_bundled=1 ;;
  system) use_bundled=0 ;;
  *) if ldconfig_lists libvulkan.so.1; then use_bundled=0; else use_bundled=1; fi ;;
esac
if [ "$use_bundled" = 1 ] && [ -f "$here/lib/libvulkan.so.1" ]; then
  export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

# An NVIDIA driver without its Vulkan manifest (common in containers): describe its ICD, which
# lives in libGLX_nvidia.so.0, and use it alone. VK_ICD_FILENAMES is read by every loader
# version (VK_DRIVER_FILES only by 1.3.234 and later).
if [ -e /dev/nvidiactl ] && [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && ldconfig_lists libGLX_nvidia.so.0 \
   && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* /usr/local/share/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
  echo '{ "file_format_version": "1.0.0", "ICD": { "library_path": "libGLX_nvidia.so.0", "api_version": "1.3" } }' > "$here/lib/nvidia_icd.json"
  export VK_ICD_FILENAMES="$here/lib/nvidia_icd.json"
fi

case "${1:-}" in
  --version)
    echo "$(cat "$here/VERSION"), node $("$here/bin/node" --version), offline folder $here"
    exit 0 ;;
  bench)
    shift
    [ "${1:-}" = "--" ] && shift
    exec "$here/bin/node" "$here/app/bench/index.js" "$@" ;;
esac
exec "$here/bin/node" "$here/app/src/train/cli.js" "$@"
