using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using MiniUpnp.Net.Tests.Lab.Faults;
using MiniUpnp.Net.Tests.Lab.Gateway;
using NUnit.Framework;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Lab.Concurrency;

/// <summary>
/// One <see cref="UpnpGateway"/> shared by eight workers on thread-pool threads, while four
/// <see cref="PortMappingLease"/>s on it renew and check in the background: a bounded mix of operations whose every
/// result is checked, then the leases' disposal and a cancellation race operations in flight.
/// </summary>
/// <remarks>
/// <see cref="UpnpGateway"/> owns nothing native and has no Dispose (an immutable snapshot of URLs): what ends the
/// async layer's work is <see cref="GatewayLease.DisposeAsync"/> and the caller's <see cref="CancellationToken"/>. So
/// the race here is those two against operations in flight: every operation ends with a correct result or
/// <see cref="OperationCanceledException"/>; every operation started after the cancellation is refused at once; each
/// lease ends disposed with its mapping removed; the gateway keeps serving; nothing is left behind and no task
/// exception goes unobserved. An operation whose connection miniupnpd's full accept queue dropped (see
/// PortConcurrencyTests) ends with <see cref="UpnpErrorCode.HttpError"/>: counted as a transport failure, rare, matched
/// by the router kernel's drops, its round abandoned and cleaned up.
/// </remarks>
public class GatewayConcurrencyTests
{
    private const PortMappingProtocol Tcp = PortMappingProtocol.Tcp;
    private const int Workers = 8;
    private const int Rounds = 3;
    private const int Leases = 2;
    private const int LeasePortBase = 48200;  // lease t: external 48200 + t, internal 21000 + t
    private const int WorkerPortBase = 48300; // worker t, round r: external 48300 + 20 t + r; 48300 + 20 t + 19 in the race
    private const int RaceOperationsPerWorker = 400;

    private static int ExternalPort(int t, int r) => WorkerPortBase + 20 * t + r;

    private static int InternalPort(int t, int r) => 22000 + 100 * t + r;

    private static string Description(int t, int r) => $"conc {t} {r} {ExternalPort(t, r)} {InternalPort(t, r)}";

    [Test]
    public async Task EightWorkersShareOneGatewayWhileLeasesRunThenDisposalAndCancellationRaceThem()
    {
        LabEnvironment.Require();
        using var unobserved = new UnobservedTaskExceptions();
        var lan = GatewayLab.Lan;
        var wan = IPAddress.Parse(LabEnvironment.IgdWanAddr);
        var gateway = await GatewayLab.OpenAsync(operationTimeout: TimeSpan.FromSeconds(10));
        await gateway.AddMappingAsync(new PortMappingRequest(Tcp, InternalPort(0, 0)) { ExternalPort = ExternalPort(0, 0), LeaseDuration = TimeSpan.FromSeconds(300), Description = Description(0, 0) });
        await gateway.ListMappingsAsync();
        await gateway.DeleteMappingAsync(Tcp, ExternalPort(0, 0));
        var baseline = await ProcessResources.SettledAsync(TimeSpan.FromSeconds(10));

        var lost = new ConcurrentQueue<string>();
        var leftovers = new ConcurrentBag<int>(); // ports of abandoned rounds, removed at the end
        var leases = await Task.WhenAll(Enumerable.Range(0, Leases).Select(async t =>
        {
            var lease = await gateway.LeaseMappingAsync(new PortMappingLeaseOptions(Tcp, 21000 + t)
            {
                ExternalPort = LeasePortBase + t,
                LeaseDuration = TimeSpan.FromSeconds(10), // renewed every 5 s
                CheckInterval = TimeSpan.FromSeconds(2),
                Description = $"lease {t}",
            });
            lease.Lost += (_, e) => lost.Enqueue($"lease {t}: {e.Reason}");
            return lease;
        }));
        try
        {
            // ---- the mix: 8 workers x 10 rounds, every result checked
            var problems = new ConcurrentQueue<string>();
            var transport = new ConcurrentQueue<string>();
            long dropsBefore = Router.ListenDrops();
            var calls = new ConcurrentDictionary<string, int>();
            void Count(string member) => calls.AddOrUpdate(member, 1, (_, n) => n + 1);
            void Expect(bool ok, int t, int r, string what)
            {
                if (!ok)
                {
                    problems.Enqueue($"worker {t} round {r}: {what}");
                }
            }

            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, Workers).Select(t => Task.Run(async () =>
            {
                for (int r = 0; r < Rounds; r++)
                {
                    try
                    {
                        int ext = ExternalPort(t, r), iport = InternalPort(t, r);
                        if (r % 2 == 0)
                        {
                            await gateway.AddMappingAsync(new PortMappingRequest(Tcp, iport) { ExternalPort = ext, LeaseDuration = TimeSpan.FromSeconds(300), Description = Description(t, r) });
                            Count("AddMappingAsync");
                        }
                        else
                        {
                            Expect(await gateway.AddAnyMappingAsync(new PortMappingRequest(Tcp, iport) { ExternalPort = ext, LeaseDuration = TimeSpan.FromSeconds(300), Description = Description(t, r) }) == ext,
                                t, r, "AddAny: our own free port");
                            Count("AddAnyMappingAsync");
                        }
                        var mine = await gateway.GetMappingAsync(Tcp, ext);
                        Count("GetMappingAsync");
                        Expect(mine is not null && mine.InternalClient.Equals(lan) && mine.InternalPort == iport && mine.Description == Description(t, r)
                               && mine.Enabled && mine.LeaseDuration > TimeSpan.Zero && mine.LeaseDuration <= TimeSpan.FromSeconds(300),
                            t, r, $"read back {mine}");
                        Expect((await gateway.GetExternalAddressAsync()).Equals(wan), t, r, "external address");
                        Count("GetExternalAddressAsync");
                        var status = await gateway.GetStatusAsync();
                        Count("GetStatusAsync");
                        Expect(status.IsConnected && status.LastConnectionError == "ERROR_NONE", t, r, $"status {status}");
                        Expect(await gateway.CheckStateAsync() == GatewayState.ConnectedWithReservedAddress, t, r, "state");
                        Count("CheckStateAsync");
                        if (r == t % Rounds || (t < 2 && r == (t + 1) % Rounds))
                        {
                            var method = r == t % Rounds ? PortMappingListMethod.Bulk : PortMappingListMethod.EntryByEntry;
                            var listed = await gateway.ListMappingsAsync(method);
                            Count($"ListMappingsAsync({method})");
                            foreach (var e in listed)
                            {
                                if (e.Description.StartsWith("conc ", StringComparison.Ordinal))
                                {
                                    var f = e.Description.Split(' ');
                                    Expect(f.Length == 5 && e.ExternalPort.ToString() == f[3] && e.InternalPort.ToString() == f[4]
                                           && e.InternalClient.Equals(lan), t, r, $"listed {e}");
                                }
                                else if (e.Description.StartsWith("lease ", StringComparison.Ordinal))
                                {
                                    int x = int.Parse(e.Description[6..]);
                                    Expect(e.ExternalPort == LeasePortBase + x && e.InternalPort == 21000 + x, t, r, $"listed {e}");
                                }
                            }
                            if (method == PortMappingListMethod.Bulk)
                            {
                                // A bulk listing is one answer: it holds our own mapping and every lease's.
                                Expect(listed.Any(e => e.ExternalPort == ext && e.Description == Description(t, r)), t, r, "own mapping listed");
                                Expect(Enumerable.Range(0, Leases).All(x => listed.Any(e => e.ExternalPort == LeasePortBase + x)), t, r, "leases listed");
                            }
                        }
                        await gateway.DeleteMappingAsync(Tcp, ext);
                        Count("DeleteMappingAsync");
                        Expect(await gateway.GetMappingAsync(Tcp, ext) is null, t, r, "gone after delete");
                        Count("GetMappingAsync");
                    }
                    catch (UpnpException e) when (e.Code == Miniupnpc.UPNPCOMMAND_HTTP_ERROR)
                    {
                        transport.Enqueue($"worker {t} round {r}: {e.Message}");
                        leftovers.Add(ExternalPort(t, r));
                    }
                    catch (Exception e)
                    {
                        problems.Enqueue($"worker {t} round {r}: {e.GetType().Name}: {e.Message}");
                        leftovers.Add(ExternalPort(t, r));
                    }
                }
            }))).WaitAsync(TimeSpan.FromSeconds(120));
            long mixMs = clock.ElapsedMilliseconds;
            TestContext.Out.WriteLine($"{Workers} workers x {Rounds} rounds on one UpnpGateway, {Leases} leases running: {calls.Values.Sum()} operations " +
                                      $"in {mixMs} ms ({string.Join(", ", calls.OrderBy(c => c.Key).Select(c => $"{c.Key} {c.Value}"))}); " +
                                      $"lease renewals {leases.Sum(l => l.RenewalCount)}, restores {leases.Sum(l => l.RestoreCount)}, lost events {lost.Count}");
            long drops = Router.ListenDrops() - dropsBefore;
            TestContext.Out.WriteLine($"transport failures {transport.Count} ({string.Join("; ", transport)}); " +
                                      $"connections the router's kernel dropped (accept queue full): {drops}");
            Assert.Multiple(() =>
            {
                Assert.That(problems, Is.Empty, "inconsistent results");
                Assert.That(transport, Has.Count.LessThanOrEqualTo(calls.Values.Sum() / 20), "transport failures: at most 5 % of the operations");
                if (!transport.IsEmpty)
                {
                    Assert.That(drops, Is.GreaterThan(0), "transport failures without the router's accept queue overflowing");
                }
                if (drops == 0)
                {
                    // A lease check whose connection was dropped reads as a router gone: Lost, then restored. Not else.
                    Assert.That(lost, Is.Empty, "leases lost while the workers ran");
                    Assert.That(leases.Select(l => l.Status), Is.All.EqualTo(GatewayLeaseStatus.Active));
                }
            });

            // ---- the leases' disposal and a cancellation race operations in flight
            using var cancel = new CancellationTokenSource();
            var outcomes = new ConcurrentQueue<(string Member, long Start, long End, object? Value, Exception? Error)>();
            long cancelRequestedAt = long.MaxValue, cancelledAt = long.MaxValue;
            var progress = new int[Workers];
            var racers = Enumerable.Range(0, Workers).Select(t => Task.Run(async () =>
            {
                int own = ExternalPort(t, 19);
                var token = cancel.Token;
                var members = new (string, Func<Task<object?>>)[]
                {
                    ("AddMappingAsync", async () => { await gateway.AddMappingAsync(new PortMappingRequest(Tcp, InternalPort(t, 19)) { ExternalPort = own, LeaseDuration = TimeSpan.FromSeconds(300), Description = Description(t, 19) }, token); return true; }),
                    ("GetMappingAsync", async () => await gateway.GetMappingAsync(Tcp, own, null, token)),
                    ("GetStatusAsync", async () => await gateway.GetStatusAsync(token)),
                    ("GetExternalAddressAsync", async () => await gateway.GetExternalAddressAsync(token)),
                    ("ListMappingsAsync", async () => await gateway.ListMappingsAsync(cancellationToken: token)),
                    ("DeleteMappingAsync", async () => { await gateway.DeleteMappingAsync(Tcp, own, null, token); return true; }),
                };
                for (int i = 0; i < RaceOperationsPerWorker; i++)
                {
                    var (member, call) = members[i % members.Length];
                    long begin = clock.ElapsedTicks;
                    try
                    {
                        object? value = await call();
                        outcomes.Enqueue((member, begin, clock.ElapsedTicks, value, null));
                    }
                    catch (Exception e)
                    {
                        outcomes.Enqueue((member, begin, clock.ElapsedTicks, null, e));
                        if (e is OperationCanceledException && i % members.Length == members.Length - 1)
                        {
                            break;
                        }
                    }
                    Interlocked.Increment(ref progress[t]);
                }
            })).ToArray();
            var waited = Stopwatch.StartNew();
            while (Enumerable.Range(0, Workers).Any(t => Volatile.Read(ref progress[t]) < 2) && waited.Elapsed < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(5);
            }
            var disposal = Task.WhenAll(leases.Select(l => l.DisposeAsync().AsTask()));
            // Cancel() runs the awaiting workers' continuations inline: operations they start from there are refused
            // inside this very call. So "after the cancellation" is counted from just before it.
            Volatile.Write(ref cancelRequestedAt, clock.ElapsedTicks);
            cancel.Cancel();
            Volatile.Write(ref cancelledAt, clock.ElapsedTicks);
            await Task.WhenAll(racers).WaitAsync(TimeSpan.FromSeconds(60));
            await disposal.WaitAsync(TimeSpan.FromSeconds(30));
            long disposedMs = clock.ElapsedMilliseconds;

            var all = outcomes.ToArray();
            var wrong = all.Where(o => o.Error is not (null or OperationCanceledException or UpnpException { Code: Miniupnpc.UPNPCOMMAND_HTTP_ERROR })
                                       || (o.Start > cancelledAt && o.Error is not OperationCanceledException)
                                       || (o.Error is null && !Valid(o.Member, o.Value, lan, wan))).ToArray();
            TestContext.Out.WriteLine($"race: {all.Length} operations, {all.Count(o => o.Error is null)} results, " +
                                      $"{all.Count(o => o.Error is OperationCanceledException)} OperationCanceledException " +
                                      $"({all.Count(o => o.Error is OperationCanceledException && o.Start < cancelRequestedAt)} of them in flight at the cancellation); " +
                                      $"leases disposed {disposedMs - cancelledAt * 1000 / Stopwatch.Frequency} ms after");
            Assert.Multiple(() =>
            {
                Assert.That(wrong.Select(o => $"{o.Member}: {o.Error?.GetType().Name} {o.Error?.Message} {o.Value}"), Is.Empty,
                    "outcomes other than a correct result or OperationCanceledException");
                Assert.That(all.Count(o => o.Start >= cancelRequestedAt && o.Error is OperationCanceledException), Is.GreaterThanOrEqualTo(Workers),
                    "operations made after the cancellation, refused");
                Assert.That(leases.Select(l => l.Status), Is.All.EqualTo(GatewayLeaseStatus.Disposed));
                Assert.That(leases.Select(l => l.LastError), Is.All.Null, "every lease removed its mapping");
            });
            foreach (var lease in leases)
            {
                Assert.That(await gateway.GetMappingAsync(Tcp, lease.ExternalPort), Is.Null, $"lease {lease.ExternalPort} removed");
                Assert.That(lease.DisposeAsync().IsCompleted, Is.True, "disposing again returns the finished disposal");
            }
            Assert.CatchAsync<OperationCanceledException>(() => gateway.GetStatusAsync(cancel.Token), "a cancelled token is refused at once");
            for (int t = 0; t < Workers; t++)
            {
                await gateway.DeleteMappingAsync(Tcp, ExternalPort(t, 19));
            }
            // The gateway itself serves on: it had nothing to dispose.
            Assert.That((await gateway.GetStatusAsync()).IsConnected, Is.True);

            (await ProcessResources.SettledAsync(TimeSpan.FromSeconds(15))).AssertNothingLeakedSince(baseline, "after eight workers, the leases and the race");
            Assert.That(unobserved.Collect(), Is.Empty, "unobserved task exceptions");
        }
        finally
        {
            foreach (var lease in leases)
            {
                await lease.DisposeAsync();
            }
            for (int t = 0; t < Workers; t++)
            {
                await GatewayLab.TryDeleteAsync(gateway, Tcp, ExternalPort(t, 19));
            }
            foreach (int port in leftovers.Distinct())
            {
                await GatewayLab.TryDeleteAsync(gateway, Tcp, port);
            }
        }
    }

    private static bool Valid(string member, object? value, IPAddress lan, IPAddress wan) => member switch
    {
        "AddMappingAsync" or "DeleteMappingAsync" => value is true,
        "GetMappingAsync" => value is null || value is PortMappingEntry m && m.InternalClient.Equals(lan)
                                              && m.Description.StartsWith("conc ", StringComparison.Ordinal),
        "GetStatusAsync" => value is GatewayStatus { IsConnected: true },
        "GetExternalAddressAsync" => value is IPAddress a && a.Equals(wan),
        "ListMappingsAsync" => value is System.Collections.Generic.IReadOnlyList<PortMappingEntry> l
                               && l.Where(e => e.Description.StartsWith("conc ", StringComparison.Ordinal)).All(e =>
                                   e.InternalClient.Equals(lan) && e.Description.Split(' ') is [_, _, _, var ext, var iport]
                                   && ext == e.ExternalPort.ToString() && iport == e.InternalPort.ToString()),
        _ => false,
    };
}
