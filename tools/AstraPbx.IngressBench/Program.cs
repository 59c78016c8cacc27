Console.WriteLine("not implemented yet");
