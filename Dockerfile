# One image for all four revcycle services and the one-shot migration job.
# The container command selects what runs, e.g.
#   python -m uvicorn services.claims.main:app --host 0.0.0.0 --port 8002
#   python -m shared.migrate
# No HEALTHCHECK here on purpose: docker-compose.yml sets one per service (each on its own port).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Unprivileged runtime user (fixed ids so volume ownership is predictable).
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin app

# Dependency layer: depends only on pyproject.toml, so editing source code does not
# reinstall the third-party packages. The `sink` extra (aiosmtpd) is for the smtp-sink container.
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['sink']))" \
        > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Project layer. The source tree also stays in /app (the working directory), so
# `python -m shared.migrate` finds any non-Python files (migration scripts, SQL) next to the code.
COPY shared/ ./shared/
COPY services/ ./services/
COPY deploy/ ./deploy/
RUN pip install --no-cache-dir . \
    && rm -rf build ./*.egg-info \
    && mkdir -p /var/lib/payer-sandbox /var/lib/mailbox /var/lib/revcycle/dev-issuer /var/lib/partner-keys/public /var/lib/partner-keys/private \
    && chown -R app:app /var/lib/payer-sandbox /var/lib/mailbox /var/lib/revcycle/dev-issuer /var/lib/partner-keys

USER app:app

EXPOSE 8001 8002 8003 8004 8005 8006 2222

CMD ["python", "-m", "uvicorn", "services.eligibility.main:app", "--host", "0.0.0.0", "--port", "8001"]
