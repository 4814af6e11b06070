using System.Text;

namespace Ladder.Sample.Domain;

/// <summary>
/// Display names: 2 to 24 characters after trimming, letters, digits, and single inner spaces, '_', '-', '.';
/// Unicode-normalized (NFC) so two spellings of the same name compare equal.
/// </summary>
internal static class PlayerName
{
    public const int MinLength = 2;
    public const int MaxLength = 24;

    public static bool TryNormalize(string? text, out string name, out string error)
    {
        name = (text ?? "").Trim().Normalize(NormalizationForm.FormC);
        if (name.Length is < MinLength or > MaxLength)
        {
            error = $"A display name has {MinLength} to {MaxLength} characters.";
            return false;
        }

        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            var ok = char.IsLetterOrDigit(c) || c is '_' or '-' or '.' || (c == ' ' && name[i - 1] != ' ');
            if (!ok)
            {
                error = $"A display name may contain letters, digits, single spaces, '_', '-' and '.'; '{c}' at {i} is not allowed.";
                return false;
            }
        }

        error = "";
        return true;
    }
}
