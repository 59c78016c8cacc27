Console.WriteLine("demo: not wired yet");
