# The Skyie Studio app: one image for the API, the workers, the scheduler and migrations.
#
#   docker build -t skyie-studio .
#   docker run -p 8000:8000 -v skyie-data:/data skyie-studio    # a whole studio in one process
#
# Without any SKYIE_ setting the container runs embedded: SQLite and files in /data, jobs on
# in-process threads, the lite engines on the CPU. docker-compose.yml runs it in production
# (PostgreSQL, Redis, separate workers); see docs/deploy.md.
#
# The `ml` extra is not installed: the app never imports torch. GPU work goes over HTTP to the
# GPU server (gpu/Dockerfile). FFmpeg comes from the imageio-ffmpeg wheel and espeak-ng from
# espeakng-loader; every dependency installs from a manylinux wheel, so no compiler and no
# system library is needed.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/skyie
WORKDIR /src

# Dependencies first, in their own layer: it is rebuilt only when pyproject.toml changes.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
 && /opt/skyie/bin/pip install --only-binary=:all: -r requirements.txt

# The packages of pyproject.toml's [tool.setuptools.packages.find] include list.
COPY core ./core
COPY jobs ./jobs
COPY tools ./tools
COPY agent ./agent
COPY gpu ./gpu
COPY media ./media
COPY billing ./billing
COPY api ./api
COPY bots ./bots
COPY webchat ./webchat
COPY cli ./cli
RUN /opt/skyie/bin/pip install --no-deps . \
 && /opt/skyie/bin/skyie --help > /dev/null

FROM python:3.11-slim-bookworm
ENV PATH=/opt/skyie/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SKYIE_HOME=/data
# A fixed uid, so a volume or an NFS export can be owned by it on every host.
RUN groupadd --system --gid 10001 skyie \
 && useradd --system --uid 10001 --gid skyie --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin skyie \
 && mkdir -p /data \
 && chown skyie:skyie /data
COPY --from=build /opt/skyie /opt/skyie
# Not /data: pydantic-settings reads ./.env, and the data volume is no place for settings.
WORKDIR /app
USER skyie
# Artifacts, uploads and (embedded mode) the SQLite database. A new named volume takes this
# folder's owner, so the skyie user can write to it.
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["skyie", "serve", "--host", "0.0.0.0", "--port", "8000"]
