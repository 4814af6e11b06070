Console.Error.WriteLine("The sample host lands with its own issue.");
return 1;
