using System.Reflection;

namespace Ladder.Sample.Hosting;

internal sealed partial class LadderOptions
{
    private static readonly Dictionary<string, PropertyInfo> Settings = typeof(LadderOptions)
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(static p => p.CanWrite)
        .ToDictionary(static p => p.Name, StringComparer.OrdinalIgnoreCase);

    /// <summary>The URLs the host listens on: <see cref="Port"/> if given, else <see cref="Urls"/>, else the default.</summary>
    public string ListenUrls => Port is { } port ? $"http://127.0.0.1:{port}" : Urls ?? ListenAddresses.Default;

    /// <summary>
    /// Reads the section one setting at a time, so that a value which does not convert (<c>ParseDeadline=abc</c>) is a
    /// problem listed with the others instead of the binder's exception at the first one, and a key that is no
    /// setting (a typo) is reported instead of ignored.
    /// </summary>
    public static LadderOptions Read(IConfigurationSection section, List<string> failures)
    {
        var options = new LadderOptions();
        foreach (var child in section.GetChildren())
        {
            if (!Settings.TryGetValue(child.Key, out var setting))
            {
                failures.Add($"{Section}:{child.Key} is not a setting; the settings are {string.Join(", ", Settings.Keys)}.");
                continue;
            }

            if (child.Value is null)
            {
                continue;
            }

            try
            {
                // The binder's own conversion, one value at a time: the same rules as BindConfiguration.
                setting.SetValue(options, child.Get(setting.PropertyType));
            }
            catch (InvalidOperationException)
            {
                failures.Add($"{Section}:{setting.Name} must be {Describe(setting.PropertyType)}; '{child.Value}' is not.");
            }
        }

        return options;
    }

    private static string Describe(Type type) => (Nullable.GetUnderlyingType(type) ?? type) switch
    {
        var t when t == typeof(TimeSpan) => "a time span such as 00:00:02.5 (hh:mm:ss)",
        var t when t == typeof(bool) => "true or false",
        var t when t == typeof(int) => "a whole number",
        var t => $"a {t.Name}",
    };
}
