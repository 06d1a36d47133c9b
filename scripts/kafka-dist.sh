#!/usr/bin/env bash
# Kafka 3.8.1 without the tarball: resolves the jars that tools/kafka/pom.xml names from Maven Central into
# a cache, writes launchers equivalent to the 3.8.1 distribution's bin/ scripts and config/ files next to
# them, and compiles the tests' client (tools/kafka/src). The layout mirrors /opt/kafka of the apache/kafka
# image, so the rendered start.sh runs against it with only its /opt/kafka/bin path changed:
#
#   $KAFKA_DIST/libs/     the jars (the distribution's libs/, reduced to what the broker needs)
#   $KAFKA_DIST/bin/      kafka-run-class.sh, kafka-server-start.sh, kafka-storage.sh, kafka-topics.sh,
#                         kafka-configs.sh, kafka-acls.sh, kafka-metadata-quorum.sh, kafka-consumer-groups.sh,
#                         kafka-console-producer.sh, kafka-console-consumer.sh, msa-kafka-probe.sh
#   $KAFKA_DIST/config/   log4j.properties, tools-log4j.properties (the distribution's defaults)
#   $KAFKA_DIST/probe/    the compiled test client
#   $KAFKA_DIST/agents/   jmx_prometheus_javaagent-1.0.1.jar, the metrics agent the brokers run with
#                         kafka.jmxAgent (kept out of libs/: it is an agent, not on the broker's classpath)
#   $KAFKA_DIST/m2/       the local Maven repository the jars were resolved through
#
# Usage: scripts/kafka-dist.sh [--offline]     (prints KAFKA_DIST=<dir> on its last line)
#   --offline  never touch the network: exit 3 when the jars are not in the cache yet (the tests use it
#              to skip, or fail in CI, instead of downloading).
# A warm cache (same pom, same client source, same script) returns in well under a second.
set -euo pipefail

VERSION=3.8.1
# The Prometheus JMX exporter agent (components/monitoring/kafka.ts KAFKA_JMX_AGENT_VERSION).
JMX_AGENT=io.prometheus.jmx:jmx_prometheus_javaagent:1.0.1
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dist="${MSA_KAFKA_DIST:-$HOME/.cache/msa-infra/kafka-$VERSION}"
offline=false
[ "${1:-}" = "--offline" ] && offline=true

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'kafka-dist: %s\n' "$1" >&2; exit "${2:-1}"; }

command -v java >/dev/null 2>&1 || die "java is not on PATH (Java 17 runs Kafka $VERSION here)" 3
command -v javac >/dev/null 2>&1 || die "javac is not on PATH (it compiles the test client)" 3

pom="$repo/tools/kafka/pom.xml"
src="$repo/tools/kafka/src/main/java"
# The stamp covers everything the cache is built from; any change rebuilds what depends on it.
key="$( { cat "$pom" "${BASH_SOURCE[0]}"; find "$src" -name '*.java' -print0 | sort -z | xargs -0 cat; } | sha256sum | cut -c1-16)"
if [ -f "$dist/.stamp" ] && [ "$(cat "$dist/.stamp")" = "$key" ]; then
    echo "KAFKA_DIST=$dist"
    exit 0
fi

mkdir -p "$dist"
# One builder at a time (two test runs may start cold together).
exec 9>"$dist/.lock"
flock -w 600 9 || die "timed out waiting for another kafka-dist.sh on $dist/.lock"
if [ -f "$dist/.stamp" ] && [ "$(cat "$dist/.stamp")" = "$key" ]; then
    echo "KAFKA_DIST=$dist"
    exit 0
fi

# Sets mvnflags for resolving <what> through the cache's local repository; offline, only when <jar> (a path
# under $dist/m2) is there already (exit 3 otherwise, which the tests turn into a skip, or a failure in CI).
maven_flags() {
    local what="$1" jar="$2"
    command -v mvn >/dev/null 2>&1 || die "mvn is not on PATH (it resolves $what from Maven Central)" 3
    mvnflags=(-q -B -Dstyle.color=never -f "$pom" -Dmaven.repo.local="$dist/m2")
    if $offline; then
        [ -f "$dist/m2/$jar" ] || die "$what: not in $dist/m2 yet; run scripts/kafka-dist.sh once with network access" 3
        mvnflags+=(-o)
    fi
}

# --- 1. The jars ------------------------------------------------------------------------------------------
# Resolved into a fresh directory and swapped in whole, so an interrupted run never leaves half a libs/.
pomkey="$(sha256sum "$pom" | cut -c1-16)"
if [ ! -f "$dist/libs/.pom-$pomkey" ]; then
    maven_flags "the Kafka $VERSION jars" "org/apache/kafka/kafka_2.13/$VERSION/kafka_2.13-$VERSION.jar"
    say "resolving Kafka $VERSION jars$($offline && echo ' (offline, from the local repository)') into $dist/libs"
    rm -rf "$dist/libs.new"
    # (Maven 3.8 prints colour resets even in batch mode; they are dropped. pipefail keeps mvn's status.)
    if ! mvn "${mvnflags[@]}" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$dist/libs.new" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2; then
        rm -rf "$dist/libs.new"
        $offline && die "the Kafka $VERSION jars are not in $dist/m2 yet: run scripts/kafka-dist.sh once with network access" 3
        die "mvn could not resolve $pom"
    fi
    touch "$dist/libs.new/.pom-$pomkey"
    rm -rf "$dist/libs"
    mv "$dist/libs.new" "$dist/libs"
fi
[ -f "$dist/libs/kafka_2.13-$VERSION.jar" ] || die "kafka_2.13-$VERSION.jar missing from $dist/libs"

# --- 1b. The metrics agent -----------------------------------------------------------------------------------
IFS=: read -r agent_group agent_artifact agent_version <<<"$JMX_AGENT"
agent_jar="$dist/agents/$agent_artifact-$agent_version.jar"
if [ ! -f "$agent_jar" ]; then
    maven_flags "$JMX_AGENT" "${agent_group//.//}/$agent_artifact/$agent_version/$agent_artifact-$agent_version.jar"
    say "resolving $JMX_AGENT into $dist/agents"
    mvn "${mvnflags[@]}" dependency:copy -Dartifact="$JMX_AGENT" -DoutputDirectory="$dist/agents" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2 ||
        die "mvn could not resolve $JMX_AGENT"
    [ -f "$agent_jar" ] || die "$agent_jar missing after resolving $JMX_AGENT"
fi

# --- 2. config/: the distribution's log4j defaults ---------------------------------------------------------
# Same appenders, levels and patterns as 3.8.1's config/log4j.properties (file appenders rolling hourly into
# ${kafka.logs.dir}, no retention; the kafka.controller logger at TRACE) and config/tools-log4j.properties
# (WARN to stderr). They are what the apache/kafka image uses when the start script sets no
# KAFKA_LOG4J_OPTS, so the tests measure what a pod would write into LOG_DIR.
mkdir -p "$dist/config" "$dist/bin" "$dist/probe"
cat >"$dist/config/log4j.properties" <<'EOF'
# Equivalent of Kafka 3.8.1 config/log4j.properties (written by msa-infra scripts/kafka-dist.sh).
log4j.rootLogger=INFO, stdout, kafkaAppender

log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n

log4j.appender.kafkaAppender=org.apache.log4j.DailyRollingFileAppender
log4j.appender.kafkaAppender.DatePattern='.'yyyy-MM-dd-HH
log4j.appender.kafkaAppender.File=${kafka.logs.dir}/server.log
log4j.appender.kafkaAppender.layout=org.apache.log4j.PatternLayout
log4j.appender.kafkaAppender.layout.ConversionPattern=[%d] %p %m (%c)%n

log4j.appender.stateChangeAppender=org.apache.log4j.DailyRollingFileAppender
log4j.appender.stateChangeAppender.DatePattern='.'yyyy-MM-dd-HH
log4j.appender.stateChangeAppender.File=${kafka.logs.dir}/state-change.log
log4j.appender.stateChangeAppender.layout=org.apache.log4j.PatternLayout
log4j.appender.stateChangeAppender.layout.ConversionPattern=[%d] %p %m (%c)%n

log4j.appender.requestAppender=org.apache.log4j.DailyRollingFileAppender
log4j.appender.requestAppender.DatePattern='.'yyyy-MM-dd-HH
log4j.appender.requestAppender.File=${kafka.logs.dir}/kafka-request.log
log4j.appender.requestAppender.layout=org.apache.log4j.PatternLayout
log4j.appender.requestAppender.layout.ConversionPattern=[%d] %p %m (%c)%n

log4j.appender.cleanerAppender=org.apache.log4j.DailyRollingFileAppender
log4j.appender.cleanerAppender.DatePattern='.'yyyy-MM-dd-HH
log4j.appender.cleanerAppender.File=${kafka.logs.dir}/log-cleaner.log
log4j.appender.cleanerAppender.layout=org.apache.log4j.PatternLayout
log4j.appender.cleanerAppender.layout.ConversionPattern=[%d] %p %m (%c)%n

log4j.appender.controllerAppender=org.apache.log4j.DailyRollingFileAppender
log4j.appender.controllerAppender.DatePattern='.'yyyy-MM-dd-HH
log4j.appender.controllerAppender.File=${kafka.logs.dir}/controller.log
log4j.appender.controllerAppender.layout=org.apache.log4j.PatternLayout
log4j.appender.controllerAppender.layout.ConversionPattern=[%d] %p %m (%c)%n

log4j.appender.authorizerAppender=org.apache.log4j.DailyRollingFileAppender
log4j.appender.authorizerAppender.DatePattern='.'yyyy-MM-dd-HH
log4j.appender.authorizerAppender.File=${kafka.logs.dir}/kafka-authorizer.log
log4j.appender.authorizerAppender.layout=org.apache.log4j.PatternLayout
log4j.appender.authorizerAppender.layout.ConversionPattern=[%d] %p %m (%c)%n

log4j.logger.org.apache.zookeeper=INFO
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO

log4j.logger.kafka.request.logger=WARN, requestAppender
log4j.additivity.kafka.request.logger=false

log4j.logger.kafka.network.RequestChannel$=WARN, requestAppender
log4j.additivity.kafka.network.RequestChannel$=false

log4j.logger.org.apache.kafka.controller=INFO, controllerAppender
log4j.additivity.org.apache.kafka.controller=false

log4j.logger.kafka.controller=TRACE, controllerAppender
log4j.additivity.kafka.controller=false

log4j.logger.kafka.log.LogCleaner=INFO, cleanerAppender
log4j.additivity.kafka.log.LogCleaner=false

log4j.logger.state.change.logger=INFO, stateChangeAppender
log4j.additivity.state.change.logger=false

log4j.logger.kafka.authorizer.logger=INFO, authorizerAppender
log4j.additivity.kafka.authorizer.logger=false
EOF
cat >"$dist/config/tools-log4j.properties" <<'EOF'
# Equivalent of Kafka 3.8.1 config/tools-log4j.properties (written by msa-infra scripts/kafka-dist.sh).
log4j.rootLogger=WARN, stderr

log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.appender.stderr.Target=System.err

log4j.logger.org.reflections=ERROR
EOF

# --- 3. bin/: launchers with the 3.8.1 scripts' behaviour ---------------------------------------------------
# kafka-run-class.sh keeps every setting the rendered start script and a pod environment can reach:
# CLASSPATH (prepended), KAFKA_HEAP_OPTS (default -Xmx256M), KAFKA_JVM_PERFORMANCE_OPTS (same G1 default),
# KAFKA_GC_LOG_OPTS / -loggc (10 x 100M GC log files in LOG_DIR), KAFKA_JMX_OPTS / JMX_PORT, LOG_DIR
# (default $base_dir/logs, created only when KAFKA_LOG4J_OPTS is set), KAFKA_LOG4J_OPTS (default
# tools-log4j.properties), KAFKA_OPTS, KAFKA_DEBUG, JAVA_HOME, -name / -daemon. Left out, because a release
# tarball on Linux never takes those branches: the source-tree build directories and SCALA_VERSION lookup,
# Cygwin/MinGW path conversion, UPGRADE_KAFKA_STREAMS_TEST_VERSION and KAFKA_MODE=native (system tests only).
cat >"$dist/bin/kafka-run-class.sh" <<'EOF'
#!/bin/bash
# Equivalent of Kafka 3.8.1 bin/kafka-run-class.sh for a release layout (written by msa-infra scripts/kafka-dist.sh).
if [ $# -lt 1 ]; then
  echo "USAGE: $0 [-daemon] [-name servicename] [-loggc] classname [opts]"
  exit 1
fi

base_dir=$(dirname $0)/..

# The release classpath: everything in libs/, minus test/source/doc jars and connect-file (as upstream).
regex="(-(test|test-sources|src|scaladoc|javadoc)\.jar|jar.asc|connect-file.*\.jar)$"
shopt -s nullglob
for file in "$base_dir"/libs/*; do
  if [ "$INCLUDE_TEST_JARS" = true ] || [ -z "$(echo "$file" | grep -E "$regex")" ]; then
    CLASSPATH="$CLASSPATH":"$file"
  fi
done
shopt -u nullglob

if [ -z "$KAFKA_JMX_OPTS" ]; then
  KAFKA_JMX_OPTS="-Dcom.sun.management.jmxremote=true -Dcom.sun.management.jmxremote.authenticate=false  -Dcom.sun.management.jmxremote.ssl=false "
fi
if [ $JMX_PORT ]; then
  KAFKA_JMX_OPTS="$KAFKA_JMX_OPTS -Dcom.sun.management.jmxremote.port=$JMX_PORT "
  if ! echo "$KAFKA_JMX_OPTS" | grep -qF -- '-Dcom.sun.management.jmxremote.rmi.port=' ; then
    KAFKA_JMX_OPTS="$KAFKA_JMX_OPTS -Dcom.sun.management.jmxremote.rmi.port=$JMX_PORT"
  fi
fi

if [ "x$LOG_DIR" = "x" ]; then
  LOG_DIR="$base_dir/logs"
fi

if [ -z "$KAFKA_LOG4J_OPTS" ]; then
  KAFKA_LOG4J_OPTS="-Dlog4j.configuration=file:$base_dir/config/tools-log4j.properties"
else
  if [ ! -d "$LOG_DIR" ]; then
    mkdir -p "$LOG_DIR"
  fi
fi
KAFKA_LOG4J_CMD_OPTS="-Dkafka.logs.dir=$LOG_DIR $KAFKA_LOG4J_OPTS"

if [ -z "$KAFKA_OPTS" ]; then
  KAFKA_OPTS=""
fi

if [ "x$KAFKA_DEBUG" != "x" ]; then
  if [ -z "$JAVA_DEBUG_PORT" ]; then
    JAVA_DEBUG_PORT="5005"
  fi
  if [ -z "$JAVA_DEBUG_OPTS" ]; then
    JAVA_DEBUG_OPTS="-agentlib:jdwp=transport=dt_socket,server=y,suspend=${DEBUG_SUSPEND_FLAG:-n},address=$JAVA_DEBUG_PORT"
  fi
  echo "Enabling Java debug options: $JAVA_DEBUG_OPTS"
  KAFKA_OPTS="$JAVA_DEBUG_OPTS $KAFKA_OPTS"
fi

if [ -z "$JAVA_HOME" ]; then
  JAVA="java"
else
  JAVA="$JAVA_HOME/bin/java"
fi

if [ -z "$KAFKA_HEAP_OPTS" ]; then
  KAFKA_HEAP_OPTS="-Xmx256M"
fi

if [ -z "$KAFKA_JVM_PERFORMANCE_OPTS" ]; then
  KAFKA_JVM_PERFORMANCE_OPTS="-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true"
fi

while [ $# -gt 0 ]; do
  COMMAND=$1
  case $COMMAND in
    -name)
      DAEMON_NAME=$2
      CONSOLE_OUTPUT_FILE=$LOG_DIR/$DAEMON_NAME.out
      shift 2
      ;;
    -loggc)
      if [ -z "$KAFKA_GC_LOG_OPTS" ]; then
        GC_LOG_ENABLED="true"
      fi
      shift
      ;;
    -daemon)
      DAEMON_MODE="true"
      shift
      ;;
    *)
      break
      ;;
  esac
done

if [ "x$GC_LOG_ENABLED" = "xtrue" ]; then
  GC_LOG_FILE_NAME=$DAEMON_NAME-gc.log
  JAVA_MAJOR_VERSION=$("$JAVA" -version 2>&1 | sed -E -n 's/.* version "([0-9]*).*$/\1/p')
  if [[ "$JAVA_MAJOR_VERSION" -ge "9" ]] ; then
    KAFKA_GC_LOG_OPTS="-Xlog:gc*:file=$LOG_DIR/$GC_LOG_FILE_NAME:time,tags:filecount=10,filesize=100M"
  else
    KAFKA_GC_LOG_OPTS="-Xloggc:$LOG_DIR/$GC_LOG_FILE_NAME -verbose:gc -XX:+PrintGCDetails -XX:+PrintGCDateStamps -XX:+PrintGCTimeStamps -XX:+UseGCLogFileRotation -XX:NumberOfGCLogFiles=10 -XX:GCLogFileSize=100M"
  fi
fi

CLASSPATH=${CLASSPATH#:}

if [ "x$DAEMON_MODE" = "xtrue" ]; then
  nohup "$JAVA" $KAFKA_HEAP_OPTS $KAFKA_JVM_PERFORMANCE_OPTS $KAFKA_GC_LOG_OPTS $KAFKA_JMX_OPTS $KAFKA_LOG4J_CMD_OPTS -cp "$CLASSPATH" $KAFKA_OPTS "$@" > "$CONSOLE_OUTPUT_FILE" 2>&1 < /dev/null &
else
  exec "$JAVA" $KAFKA_HEAP_OPTS $KAFKA_JVM_PERFORMANCE_OPTS $KAFKA_GC_LOG_OPTS $KAFKA_JMX_OPTS $KAFKA_LOG4J_CMD_OPTS -cp "$CLASSPATH" $KAFKA_OPTS "$@"
fi
EOF

cat >"$dist/bin/kafka-server-start.sh" <<'EOF'
#!/bin/bash
# Equivalent of Kafka 3.8.1 bin/kafka-server-start.sh (written by msa-infra scripts/kafka-dist.sh).
if [ $# -lt 1 ]; then
  echo "USAGE: $0 [-daemon] server.properties [--override property=value]*"
  exit 1
fi
base_dir=$(dirname $0)

if [ "x$KAFKA_LOG4J_OPTS" = "x" ]; then
  export KAFKA_LOG4J_OPTS="-Dlog4j.configuration=file:$base_dir/../config/log4j.properties"
fi

if [ "x$KAFKA_HEAP_OPTS" = "x" ]; then
  export KAFKA_HEAP_OPTS="-Xmx1G -Xms1G"
fi

EXTRA_ARGS=${EXTRA_ARGS-'-name kafkaServer -loggc'}

COMMAND=$1
case $COMMAND in
  -daemon)
    EXTRA_ARGS="-daemon "$EXTRA_ARGS
    shift
    ;;
  *)
    ;;
esac

exec $base_dir/kafka-run-class.sh $EXTRA_ARGS kafka.Kafka "$@"
EOF

cat >"$dist/bin/kafka-storage.sh" <<'EOF'
#!/bin/bash
# Equivalent of Kafka 3.8.1 bin/kafka-storage.sh (written by msa-infra scripts/kafka-dist.sh).
exec $(dirname $0)/kafka-run-class.sh kafka.tools.StorageTool "$@"
EOF

# The admin tools the topic/ACL reconcile Job and the TLS reloader run, kafka-consumer-groups for the
# tests' group authorization proof, and the console producer and consumer the real-pod tests' client pod
# runs (same main classes as 3.8.1's scripts).
for tool in kafka-topics:org.apache.kafka.tools.TopicCommand kafka-configs:kafka.admin.ConfigCommand \
    kafka-acls:kafka.admin.AclCommand kafka-metadata-quorum:org.apache.kafka.tools.MetadataQuorumCommand \
    kafka-consumer-groups:org.apache.kafka.tools.consumer.group.ConsumerGroupCommand \
    kafka-console-producer:kafka.tools.ConsoleProducer kafka-console-consumer:org.apache.kafka.tools.consumer.ConsoleConsumer; do
    printf '#!/bin/bash\n# Equivalent of Kafka %s bin/%s.sh (written by msa-infra scripts/kafka-dist.sh).\nexec $(dirname $0)/kafka-run-class.sh %s "$@"\n' \
        "$VERSION" "${tool%%:*}" "${tool#*:}" >"$dist/bin/${tool%%:*}.sh"
done

# Not part of the distribution: the tests' client, started like the distribution's own tools are.
cat >"$dist/bin/msa-kafka-probe.sh" <<'EOF'
#!/bin/bash
# The msa-infra real-Kafka tests' client (tools/kafka/src), run through kafka-run-class.sh like a Kafka tool.
CLASSPATH="$(dirname $0)/../probe${CLASSPATH:+:$CLASSPATH}" exec $(dirname $0)/kafka-run-class.sh msa.kafka.Probe "$@"
EOF
chmod 0755 "$dist"/bin/*.sh

# --- 4. The test client ------------------------------------------------------------------------------------
say "compiling the test client ($src)"
rm -rf "$dist/probe.new"
mkdir -p "$dist/probe.new"
find "$src" -name '*.java' -print0 | xargs -0 javac -nowarn -encoding UTF-8 --release 17 -d "$dist/probe.new" -cp "$dist/libs/*"
rm -rf "$dist/probe"
mv "$dist/probe.new" "$dist/probe"

echo "$key" >"$dist/.stamp"
say "Kafka $VERSION: $(ls "$dist/libs" | wc -l) jars, $(du -sh "$dist/libs" | cut -f1) in $dist/libs"
echo "KAFKA_DIST=$dist"
