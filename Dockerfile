# askr with the example Laravel app (examples/laravel), for docker-compose.yml.
# Build stage: the native shim and the askr runtime.
FROM mcr.microsoft.com/dotnet/sdk:10.0-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libphp8.2-embed php8.2-dev php8.2-cli php-parser cmake gcc make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN scripts/build.sh

# Run stage: PHP 8.2 (embed SAPI + CLI for artisan), the runtime, and the example app with its
# Composer dependencies (laravel/octane, the askr driver from php/octane-driver).
FROM mcr.microsoft.com/dotnet/aspnet:10.0-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libphp8.2-embed php8.2-cli php8.2-opcache php8.2-mbstring \
      php8.2-xml php8.2-curl php8.2-sqlite3 php8.2-intl composer git unzip curl \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/askr /opt/askr
COPY . /app
WORKDIR /app/examples/laravel
RUN ASKR_EXAMPLE_COMPOSER=1 ./setup.sh
ENV ASKR_BINARY=/opt/askr/askr
EXPOSE 8000 7946
CMD ["php", "artisan", "octane:start", "--server=askr", "--host=0.0.0.0", "--port=8000"]
