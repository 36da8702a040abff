# The image of the API and the scheduler: `lineage` installed from this repository.
#   docker build -t lineage .      (docker-compose.yml builds it for you)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies get their own layer: with only the metadata present setuptools finds no package,
# so this installs just what pyproject.toml declares, and a code change reuses the layer.
COPY pyproject.toml README.md ./
RUN pip install .

# Then the code (and the API contract, saved queries and job files beside it).
COPY . .
RUN pip install --no-deps --force-reinstall . \
 && useradd --system --create-home --home-dir /var/lib/lineage lineage \
 && mkdir -p /var/lib/lineage/records \
 && chown -R lineage /var/lib/lineage

USER lineage
ENV LINEAGE_RECORDS_DIR=/var/lib/lineage/records
EXPOSE 8000
CMD ["lineage", "serve", "--host", "0.0.0.0"]
