#!/usr/bin/env bash
# Tag-driven release: ./scripts/release.sh <version> [--dry]
#
# Checks that the tree is clean, on main and level with origin/main, and that the tag is new; then bumps
# "version" in every packages/*/package.json, commits, tags v<version> and pushes the commit and the tag.
# The tag push starts .github/workflows/release.yaml (checks, npm publish with provenance, GitHub release).
# --dry runs the same checks, shows the version changes and prints the commands, and changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "release: $*" >&2; exit 1; }

version="${1:-}"
dry=false
case "${2:-}" in
  "") ;;
  --dry) dry=true ;;
  *) die "usage: scripts/release.sh <version> [--dry]" ;;
esac
[[ -n "$version" ]] || die "usage: scripts/release.sh <version> [--dry]"
[[ "$version" =~ ^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$ ]] \
  || die "not a semver version: $version (no leading v)"
tag="v$version"

branch="$(git rev-parse --abbrev-ref HEAD)"
[[ "$branch" == "main" ]] || die "releases are cut from main, this is $branch"
[[ -z "$(git status --porcelain)" ]] || die "the working tree is not clean: commit or remove these first:
$(git status --short)"
! git rev-parse -q --verify "refs/tags/$tag" >/dev/null || die "tag $tag already exists"
current="$(bun -e 'console.log(require("./packages/opencode/package.json").version)')"
[[ "$current" != "$version" ]] || die "packages/opencode is already at $version"

if git remote get-url origin >/dev/null 2>&1; then
  if $dry; then
    echo "would run: git fetch origin main --tags"
  else
    git fetch origin main --tags
  fi
  if git rev-parse -q --verify refs/remotes/origin/main >/dev/null; then
    [[ "$(git rev-parse HEAD)" == "$(git rev-parse refs/remotes/origin/main)" ]] \
      || die "main is not level with origin/main: pull or push first"
  fi
  ! git rev-parse -q --verify "refs/tags/$tag" >/dev/null || die "tag $tag already exists on origin"
else
  $dry || die "no origin remote to push to"
  echo "note: no origin remote"
fi

if $dry; then
  echo "release $tag (dry run: nothing is changed)"
  bun scripts/release-tools.ts bump "$version" --dry | sed 's/^/  would bump /'
  echo "would run: git add packages/*/package.json"
  echo "would run: git commit -m \"release: $tag\""
  echo "would run: git tag -a $tag -m \"$tag\""
  echo "would run: git push origin main"
  echo "would run: git push origin $tag"
  echo "then: ./scripts/wait-release.sh $tag"
  exit 0
fi

bun scripts/release-tools.ts bump "$version"
git add packages/*/package.json
git commit -m "release: $tag"
git tag -a "$tag" -m "$tag"
git push origin main
git push origin "$tag"
echo "pushed $tag; follow the release with: ./scripts/wait-release.sh $tag"
