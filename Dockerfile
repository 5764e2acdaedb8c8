# The generation worker's silo image. Build: docker build -t generation-worker .
# The build stage runs scripts/publish.sh, the same script CI's smoke test (scripts/smoke-published.sh) publishes and
# starts with, so the image ships exactly what CI checked.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# Restore first, from the project files only, so a source change does not download the packages again.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Interfaces/GenerationWorker.Interfaces.csproj src/Interfaces/
COPY src/Grains/GenerationWorker.Grains.csproj src/Grains/
COPY src/Silo/GenerationWorker.Silo.csproj src/Silo/
RUN dotnet restore src/Silo/GenerationWorker.Silo.csproj
COPY src/Interfaces/ src/Interfaces/
COPY src/Grains/ src/Grains/
COPY src/Silo/ src/Silo/
COPY sql/ sql/
COPY scripts/publish.sh scripts/
# The same command CI runs: dotnet publish src/Silo/GenerationWorker.Silo.csproj -c Release -o /app
RUN bash scripts/publish.sh /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app .
# HTTP (/health, /status, /dashboard, /files), silo-to-silo, client gateway.
ENV PORT=8080 SILO_PORT=11111 GATEWAY_PORT=30000
EXPOSE 8080 11111 30000
# The non-root user the .NET images provide.
USER $APP_UID
# CMD, not ENTRYPOINT, so that a platform's pre-deploy command (`dotnet GenerationWorker.Silo.dll migrate`) replaces it.
# The same start as scripts/smoke-published.sh: `dotnet GenerationWorker.Silo.dll` in the published directory.
CMD ["dotnet", "GenerationWorker.Silo.dll"]
