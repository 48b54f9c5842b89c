import ArgumentParser
import CTransportCeiling
import Foundation
import RumorBench
import RumorCore
import RumorUV

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print their figures.",
        subcommands: [TransportBench.self, SerfBench.self, DirectoryBench.self, DirectoryMemoryBench.self, SamplingBench.self, HostileBench.self, RelayMember.self]
    )
}

struct TransportBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transport",
        abstract: "Frames/s and MB/s between two runtimes on loopback, beside a plain libuv pair (the ceiling)."
    )

    @Option(help: "Seconds per measurement.")
    var seconds: Double = 3

    @Option(help: "Frame sizes in bytes, length prefix included.")
    var sizes: [Int] = [100, 65536]

    @Option(help: "Runs of each measurement; the best is kept (noise only ever slows a run).")
    var runs: Int = 3

    func validate() throws {
        guard seconds > 0, seconds <= 600 else { throw ValidationError("--seconds must be in (0, 600]") }
        guard runs >= 1, runs <= 20 else { throw ValidationError("--runs must be 1 to 20") }
        for size in sizes where size < 40 || size > 1 << 20 {
            throw ValidationError("frame size \(size) is outside 40 ... \(1 << 20)")
        }
    }

    func run() async throws {
        print("| frame size | Rumor frames/s | Rumor MB/s | ceiling frames/s | ceiling MB/s | frames/s vs ceiling | MB/s vs ceiling |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for size in sizes {
            var best: TransportBenchmark.Figures?
            var ceiling: (frames: Double, megabytes: Double)?
            for _ in 0..<runs {
                let figures = try await TransportBenchmark.run(frameSize: size, duration: .milliseconds(Int(seconds * 1000)))
                if best == nil || figures.framesPerSecond > best!.framesPerSecond { best = figures }
                let plain = rumor_ceiling_run(figures.frameSize, seconds)
                guard plain.error == 0 else { throw ValidationError("ceiling run failed with libuv error \(plain.error)") }
                let plainFrames = Double(plain.frames) / plain.seconds
                let plainMegabytes = Double(plain.bytes) / plain.seconds / 1e6
                if ceiling == nil || plainFrames > ceiling!.frames { ceiling = (plainFrames, plainMegabytes) }
            }
            let rumor = best!
            let plain = ceiling!
            print(String(format: "| %d B | %.2f M | %.0f | %.2f M | %.0f | %.1f%% | %.1f%% |",
                         rumor.frameSize, rumor.framesPerSecond / 1e6, rumor.megabytesPerSecond,
                         plain.frames / 1e6, plain.megabytes,
                         100 * rumor.framesPerSecond / plain.frames, 100 * rumor.megabytesPerSecond / plain.megabytes))
        }
    }
}
