#!/bin/sh
# Installs the Deno runtime Assent is built with, for a Linux build host that has none (the
# Dockerfile's build stage): downloads it from the npm registry, checks it against the integrity
# pinned here (the same pins as RUNTIME in scripts/package.ts; scripts/install_deno_test.ts keeps
# them equal) before anything is unpacked, and installs it.
#
#   sh scripts/install_deno.sh [TARGET]     TARGET defaults to /usr/local/bin/deno
#
# NPM_CONFIG_REGISTRY points at another registry (a mirror); needs curl, tar, sha512sum, base64, od.
set -eu
version=2.9.6
registry=${NPM_CONFIG_REGISTRY:-https://registry.npmjs.org}
registry=${registry%/}
target=${1:-/usr/local/bin/deno}

case "$(uname -m)" in
  x86_64 | amd64)
    name=linux-x64-glibc
    integrity=sha512-3md4TKLCuzsLDmfOoC5KN7NAZaxSVkMgm64vg6foD00JBADCpYS2/5QqXfzgnP5ZQz3iLP9vBQJtEgc116OAoQ==
    ;;
  aarch64 | arm64)
    name=linux-arm64-glibc
    integrity=sha512-poqhoH9B3nYloigEMPT5t8HY+wBeiuea1An5Q7fqgJzP0SYmWsoS/oUnWO/pEiA4ofzIBy1Elt/in58xKtxEoQ==
    ;;
  *)
    echo "install_deno: there is no pinned Deno runtime for $(uname -sm)" >&2
    exit 1
    ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/install-deno.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
url="$registry/@deno/$name/-/$name-$version.tgz"
echo "install_deno: downloading $url"
curl -fsSL --proto '=http,https' -o "$tmp/deno.tgz" "$url"
expected=$(printf '%s' "${integrity#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n')
actual=$(sha512sum "$tmp/deno.tgz" | cut -d ' ' -f 1)
if [ "$actual" != "$expected" ]; then
  echo "install_deno: $url does not match the pinned integrity; nothing was installed" >&2
  exit 1
fi
tar -xzf "$tmp/deno.tgz" -C "$tmp" package/deno
mkdir -p "$(dirname "$target")"
cp "$tmp/package/deno" "$target.tmp"
chmod 755 "$target.tmp"
mv -f "$target.tmp" "$target"
echo "install_deno: installed Deno $version at $target"
