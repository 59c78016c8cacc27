using AstraPbx.Benchmarks;
using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(AudioFrameBenchmarks).Assembly).Run(args);
