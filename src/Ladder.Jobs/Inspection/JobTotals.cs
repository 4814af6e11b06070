namespace Ladder.Jobs;

/// <summary>Totals by state as the inspection calls return them: every <see cref="JobState"/> a key, 0 when no job is in it.</summary>
internal static class JobTotals
{
    public static Dictionary<JobState, long> Zero() => Enum.GetValues<JobState>().ToDictionary(static s => s, static _ => 0L);

    public static Dictionary<JobState, long> Sum(IEnumerable<QueueStateCount> counts)
    {
        var totals = Zero();
        foreach (var count in counts)
        {
            totals[count.State] += count.Count;
        }

        return totals;
    }
}
