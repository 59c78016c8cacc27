#!/bin/sh
# Renders the secret-bearing templates from the environment, checks the generated dialplan is there, starts Asterisk.
# ASTERISK_ETC (default /etc/asterisk) exists for the deployment tests, which run this script against a scratch folder.
set -eu
etc="${ASTERISK_ETC:-/etc/asterisk}"

for name in ARI_USERNAME ARI_PASSWORD SIP_1001_PASSWORD SIP_1002_PASSWORD; do
  eval "value=\${$name:-}"
  if [ -z "$value" ]; then
    echo "asterisk: environment variable $name is not set (see .env.example)" >&2
    exit 1
  fi
done

# Only our variables are substituted: Asterisk's own ${...} syntax in the templates stays as it is.
umask 077
for template in "$etc"/templates/*.conf; do
  envsubst '${ARI_USERNAME} ${ARI_PASSWORD} ${SIP_1001_PASSWORD} ${SIP_1002_PASSWORD}' \
    < "$template" > "$etc/$(basename "$template")"
done

for generated in extensions.conf queues.conf; do
  if [ ! -f "$etc/generated/$generated" ]; then
    echo "asterisk: $etc/generated/$generated is missing; generate it with" >&2
    echo "  dotnet AstraPbx.Routing.dll dialplan --out $etc/generated   (compose: the routing-seed service)" >&2
    exit 1
  fi
done

exec "$@"
