# Sourced by ./twinserve, ./test and .ci/run: exports JAVA_HOME pointing at a JDK 25 or newer.
# Looks at JAVA_HOME first, then the usual install folders. Prints what to do when none is found.

_twinserve_java_major() {
  local home=$1 version=""
  [ -x "$home/bin/java" ] && [ -x "$home/bin/javac" ] || return 1
  if [ -f "$home/release" ]; then
    version=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$home/release")
  fi
  if [ -z "$version" ]; then
    version=$("$home/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)
  fi
  [ -n "$version" ] && echo "$version"
}

_twinserve_find_jdk() {
  local candidate major
  for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25* /usr/lib/jvm/*25* /usr/lib/jvm/* \
      /opt/java/* /opt/jdk* /usr/local/lib/jvm/* "$HOME"/.sdkman/candidates/java/* \
      "$HOME"/.jdks/* /Library/Java/JavaVirtualMachines/*/Contents/Home; do
    [ -n "$candidate" ] && [ -d "$candidate" ] || continue
    major=$(_twinserve_java_major "$candidate") || continue
    if [ "$major" -ge 25 ] 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

if _twinserve_jdk=$(_twinserve_find_jdk); then
  export JAVA_HOME="$_twinserve_jdk"
  export PATH="$JAVA_HOME/bin:$PATH"
else
  echo "twinserve needs a JDK 25 or newer, and none was found (looked at JAVA_HOME and /usr/lib/jvm," >&2
  echo "/opt/java, ~/.sdkman, ~/.jdks). Install one (e.g. Eclipse Temurin 25) and set JAVA_HOME to it." >&2
  return 1 2>/dev/null || exit 1
fi
unset _twinserve_jdk
