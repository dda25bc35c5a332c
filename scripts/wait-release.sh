#!/usr/bin/env bash
# ./scripts/wait-release.sh v<version>: waits for the release workflow run of that tag and exits with its
# result (0 when it published). Needs the GitHub CLI (`gh`), logged in.
set -euo pipefail

die() { echo "wait-release: $*" >&2; exit 1; }

tag="${1:-}"
[[ "$tag" =~ ^v[0-9]+\.[0-9]+\.[0-9]+ ]] || die "usage: scripts/wait-release.sh v<version>"
command -v gh >/dev/null 2>&1 || die "the GitHub CLI (gh) is not installed: see https://cli.github.com, then gh auth login"

workflow="${WAIT_RELEASE_WORKFLOW:-release.yaml}"
attempts="${WAIT_RELEASE_ATTEMPTS:-30}"
interval="${WAIT_RELEASE_INTERVAL:-10}"

# a tag push names the tag as the run's branch; the run can take a few seconds to appear
run_id=""
for ((i = 1; i <= attempts; i++)); do
  run_id="$(gh run list --workflow "$workflow" --branch "$tag" --event push --limit 1 \
    --json databaseId --jq '.[0].databaseId // empty')"
  [[ -n "$run_id" ]] && break
  echo "waiting for the $workflow run of $tag ($i/$attempts)"
  sleep "$interval"
done
[[ -n "$run_id" ]] || die "no $workflow run for $tag: was the tag pushed? (git ls-remote --tags origin $tag)"

echo "following run $run_id"
gh run watch "$run_id" --exit-status --interval "$interval" || die "the release run $run_id failed: gh run view $run_id --log-failed"
gh run view "$run_id" --json conclusion,url --jq '"\(.conclusion): \(.url)"'
