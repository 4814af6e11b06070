using Ladder.Jobs.Storage.Sqlite;

namespace Ladder.Jobs.Testing;

/// <summary>The SQLite store's statements that run on every claim, outcome or rescue, or a dashboard's poll, by name (for plan tests).</summary>
public static class SqliteStatements
{
    /// <summary>Name and text of each statement; parameters are <c>@p0..@pN</c> or <c>$name</c>.</summary>
    public static IReadOnlyList<(string Name, string Sql)> Frequent { get; } =
    [
        (nameof(Sql.Claim), Sql.Claim),
        (nameof(Sql.NextRunAt), Sql.NextRunAt),
        (nameof(Sql.MarkStarted), Sql.MarkStarted),
        (nameof(Sql.Complete), Sql.Complete),
        (nameof(Sql.Retry), Sql.Retry),
        (nameof(Sql.Heartbeat), Sql.Heartbeat),
        (nameof(Sql.RecordRescues), Sql.RecordRescues),
        (nameof(Sql.Rescue), Sql.Rescue),
        (nameof(LimitSql.QueueRate), LimitSql.QueueRate),
        (nameof(LimitSql.HasKeyed), LimitSql.HasKeyed),
        (nameof(LimitSql.KeyWalk), LimitSql.KeyWalk),
        (nameof(LimitSql.KeyCandidates), LimitSql.KeyCandidates),
        (nameof(LimitSql.PlainCandidates), LimitSql.PlainCandidates),
        (nameof(LimitSql.ClaimIds), LimitSql.ClaimIds),
        (nameof(LimitSql.KeysInUse), LimitSql.KeysInUse),
        (nameof(SqliteJobStore.JobsPage), SqliteJobStore.JobsPage),
    ];
}
