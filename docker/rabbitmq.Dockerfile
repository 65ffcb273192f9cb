# RabbitMQ broker image built from Debian's rabbitmq-server (no registry
# image needed), with the management plugin enabled.
#   AMQP 5672, management UI/API 15672.
#   RABBITMQ_USER / RABBITMQ_PASS (default guest/guest) name the user that
#   may log in from any address (docker/rabbitmq-entrypoint.sh creates it).
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        rabbitmq-server \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb
COPY docker/rabbitmq.conf /etc/rabbitmq/rabbitmq.conf
COPY docker/rabbitmq-entrypoint.sh /usr/local/bin/rabbitmq-entrypoint.sh
RUN echo '[rabbitmq_management].' > /etc/rabbitmq/enabled_plugins \
 && chmod 0755 /usr/local/bin/rabbitmq-entrypoint.sh \
 && mkdir -p /var/lib/rabbitmq /var/log/rabbitmq \
 && chown -R rabbitmq:rabbitmq /etc/rabbitmq /var/lib/rabbitmq /var/log/rabbitmq
ENV RABBITMQ_USER=guest RABBITMQ_PASS=guest \
    RABBITMQ_NODENAME=rabbit@localhost \
    RABBITMQ_LOGS=- RABBITMQ_SASL_LOGS=-
EXPOSE 5672 15672
VOLUME /var/lib/rabbitmq
USER rabbitmq
HEALTHCHECK --interval=5s --timeout=10s --start-period=60s --retries=10 \
    CMD test -f /tmp/cs-broker-ready && rabbitmq-diagnostics -q ping
ENTRYPOINT ["/usr/local/bin/rabbitmq-entrypoint.sh"]
