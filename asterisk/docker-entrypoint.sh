#!/bin/sh
# Renders the secret-bearing templates from the environment, checks the generated dialplan is there, starts Asterisk.
set -eu

for name in ARI_USERNAME ARI_PASSWORD SIP_1001_PASSWORD SIP_1002_PASSWORD; do
  eval "value=\${$name:-}"
  if [ -z "$value" ]; then
    echo "asterisk: environment variable $name is not set (see .env.example)" >&2
    exit 1
  fi
done

# Only our variables are substituted: Asterisk's own ${...} syntax in the templates stays as it is.
for template in /etc/asterisk/templates/*.conf; do
  envsubst '${ARI_USERNAME} ${ARI_PASSWORD} ${SIP_1001_PASSWORD} ${SIP_1002_PASSWORD}' \
    < "$template" > "/etc/asterisk/$(basename "$template")"
  chmod 600 "/etc/asterisk/$(basename "$template")"
done

for generated in extensions.conf queues.conf; do
  if [ ! -f "/etc/asterisk/generated/$generated" ]; then
    echo "asterisk: /etc/asterisk/generated/$generated is missing; generate it with" >&2
    echo "  dotnet AstraPbx.Routing.dll dialplan --out /etc/asterisk/generated   (compose: the routing-seed service)" >&2
    exit 1
  fi
done

exec "$@"
