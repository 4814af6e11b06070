Console.Error.WriteLine("filled by its library's issue");
return 1;
