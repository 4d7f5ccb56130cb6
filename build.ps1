#!/usr/bin/env pwsh
# MiniUpnp.Net build entry point for Windows: these verbs of build.sh (the hosted workflow's build-ps1 job runs
# native and build, .github/workflows/native-and-packages.yml):
#   ./build.ps1 native [-Rid win-x64] | generate [-Check] | build | test | pack | deps
# Needs: CMake 3.20+, a C compiler (Visual Studio's MSVC, or MinGW-w64 gcc on PATH), the .NET 10 SDK, Git.
# The IGD lab (network namespaces) is Linux-only: lab, demo and bench are not available here.
param(
    [Parameter(Position = 0)][string]$Verb = 'help',
    [string]$Rid = '',
    [switch]$Check
)
$ErrorActionPreference = 'Stop'
$Root = $PSScriptRoot
$Artifacts = Join-Path $Root 'artifacts'
$Configuration = if ($env:CONFIGURATION) { $env:CONFIGURATION } else { 'Release' }

function Say([string]$Text) { Write-Host "==> $Text" }
function Fail([string]$Text) { Write-Error "build.ps1: $Text"; exit 1 }
function Have([string]$Command) { [bool](Get-Command $Command -ErrorAction SilentlyContinue) }

function Get-HostRid {
    $arch = [System.Runtime.InteropServices.RuntimeInformation]::OSArchitecture
    switch ($arch) {
        'X64' { 'win-x64' }
        'X86' { 'win-x86' }
        'Arm64' { 'win-arm64' }
        default { Fail "unsupported architecture $arch" }
    }
}

function Assert-Prerequisites {
    $missing = @()
    if (-not (Have 'cmake')) { $missing += 'CMake (winget install Kitware.CMake)' }
    if (-not (Have 'git')) { $missing += 'Git (winget install Git.Git)' }
    if (-not (Have 'dotnet')) { $missing += '.NET 10 SDK (winget install Microsoft.DotNet.SDK.10)' }
    if ($missing.Count -gt 0) { Fail ("missing prerequisites; install: " + ($missing -join ', ')) }
}

function Invoke-Native {
    Assert-Prerequisites
    $target = if ($Rid) { $Rid } else { Get-HostRid }
    $buildDir = Join-Path $Artifacts "cmake/$target"
    $extra = @()
    if ($target -ne (Get-HostRid)) {
        $toolchain = Join-Path $Root "cmake/toolchains/$target.cmake"
        if (-not (Test-Path $toolchain)) { Fail "no toolchain file cmake/toolchains/$target.cmake" }
        $extra += "-DCMAKE_TOOLCHAIN_FILE=$toolchain"
    }
    elseif ($target -eq 'win-x86') { $extra += '-A', 'Win32' }
    Say "native: miniupnpc for $target"
    & cmake -S (Join-Path $Root 'native') -B $buildDir "-DMINIUPNPC_RID=$target" -DCMAKE_BUILD_TYPE=Release @extra
    if ($LASTEXITCODE -ne 0) { Fail 'cmake configure failed' }
    & cmake --build $buildDir --config Release
    if ($LASTEXITCODE -ne 0) { Fail 'cmake build failed' }
}

function Invoke-Generate {
    $include = Join-Path $Artifacts 'src/miniupnpc-2.3.3/include'
    if (-not (Test-Path $include)) { Invoke-Native }
    $out = Join-Path $Root 'src/MiniUpnp.Net/Interop'
    if ($Check) {
        $out = Join-Path $Artifacts 'generate-check'
        Remove-Item -Recurse -Force $out -ErrorAction SilentlyContinue
        New-Item -ItemType Directory $out | Out-Null
    }
    # The generator needs libclang (LLVM 16); on Windows install LLVM and put libclang.dll on PATH.
    & dotnet run --project (Join-Path $Root 'build/Generator') -c Release -- $include $out
    if ($LASTEXITCODE -ne 0) { Fail 'generator failed' }
    if ($Check) {
        $bad = $false
        foreach ($file in Get-ChildItem $out -Filter '*.g.cs') {
            $committed = Join-Path $Root "src/MiniUpnp.Net/Interop/$($file.Name)"
            if (-not (Test-Path $committed) -or (Get-FileHash $file.FullName).Hash -ne (Get-FileHash $committed).Hash) {
                Write-Host "generate -Check: $($file.Name) differs from a fresh generation"; $bad = $true
            }
        }
        if ($bad) { Fail 'the committed interop differs from a fresh generation: run ./build.ps1 generate and commit' }
        Say 'generate: committed interop is byte-identical to a fresh generation'
    }
}

function Invoke-Build {
    Invoke-Native
    Say "build: MiniUpnp.Net.sln ($Configuration)"
    & dotnet build (Join-Path $Root 'MiniUpnp.Net.sln') -c $Configuration -nologo -v:q
    if ($LASTEXITCODE -ne 0) { Fail 'dotnet build failed' }
}

function Invoke-Test {
    Invoke-Build
    $target = if ($Rid) { $Rid } else { Get-HostRid }
    $results = Join-Path $Artifacts 'test-results'
    Remove-Item -Recurse -Force $results -ErrorAction SilentlyContinue
    New-Item -ItemType Directory $results | Out-Null
    $status = 0
    Say 'test: upstream C tests and ours (CTest)'
    & ctest --test-dir (Join-Path $Artifacts "cmake/$target") -C Release --output-on-failure --timeout 120 --output-junit (Join-Path $results 'ctest.xml')
    if ($LASTEXITCODE -ne 0) { $status = 1 }
    Say 'test: NUnit (MiniUpnp.Net.Tests)'
    & dotnet test (Join-Path $Root 'tests/MiniUpnp.Net.Tests') -c $Configuration --no-build -nologo --logger 'trx;LogFileName=nunit.trx' --results-directory $results
    if ($LASTEXITCODE -ne 0) { $status = 1 }

    $passed = 0; $failed = 0; $skipped = 0
    $junit = Join-Path $results 'ctest.xml'
    if (Test-Path $junit) {
        $suite = ([xml](Get-Content $junit)).testsuite
        $f = [int]$suite.failures + [int]$suite.errors
        $passed += [int]$suite.tests - $f - [int]$suite.skipped; $failed += $f; $skipped += [int]$suite.skipped
    }
    foreach ($trx in Get-ChildItem $results -Filter '*.trx') {
        $c = ([xml](Get-Content $trx.FullName)).TestRun.ResultSummary.Counters
        $passed += [int]$c.passed; $failed += [int]$c.failed + [int]$c.error; $skipped += [int]$c.total - [int]$c.executed
    }
    Write-Host "$passed passed, $failed failed, $skipped skipped"
    if ($failed -gt 0) { $status = 1 }
    exit $status
}

switch ($Verb) {
    'native' { Invoke-Native }
    'generate' { Invoke-Generate }
    'build' { Invoke-Build }
    'test' { Invoke-Test }
    'deps' { Assert-Prerequisites; Say 'deps: all present' }
    'pack' {
        # The packing logic lives in build/pack.sh (Git for Windows brings bash).
        Invoke-Native
        if (-not (Have 'bash')) { Fail 'pack needs bash (Git for Windows)' }
        & bash (Join-Path $Root 'build/pack.sh')
        if ($LASTEXITCODE -ne 0) { Fail 'pack failed' }
    }
    { $_ -in 'lab', 'demo', 'bench' } { Fail "$Verb needs Linux network namespaces: run ./build.sh $Verb on Linux" }
    default {
        Write-Host './build.ps1 native [-Rid RID] | generate [-Check] | build | test | pack | deps'
        if ($Verb -ne 'help') { exit 1 }
    }
}
