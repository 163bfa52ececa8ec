namespace TLoRA.Engine.Training;

/// <summary>The paper's prompts: the training prompt and the (DreamBooth live-subject) validation set.</summary>
public static class PromptTemplates
{
    public static string Training(string trigger, string classWord) => $"a photo of {Subject(trigger, classWord)}";

    public static string Subject(string trigger, string classWord) => $"{trigger} {classWord}".Trim();

    /// <summary>Fills "{0}" with "trigger class" (a prompt without "{0}" is used as written).</summary>
    public static string Fill(string template, string trigger, string classWord) =>
        template.Contains("{0}", StringComparison.Ordinal) ? template.Replace("{0}", Subject(trigger, classWord), StringComparison.Ordinal) : template;

    /// <summary>Validation prompts, "{0}" standing for the subject.</summary>
    public static readonly IReadOnlyList<string> DefaultValidation =
    [
        "a {0} in the jungle",
        "a {0} in the snow",
        "a {0} on the beach",
        "a {0} on a cobblestone street",
        "a {0} on top of pink fabric",
        "a {0} on top of a wooden floor",
        "a {0} with a city in the background",
        "a {0} with a mountain in the background",
        "a {0} with a blue house in the background",
        "a {0} on top of a purple rug in a forest",
        "a {0} wearing a red hat",
        "a {0} wearing a santa hat",
        "a {0} wearing a rainbow scarf",
        "a {0} wearing a black top hat and a monocle",
        "a {0} in a chef outfit",
        "a {0} in a firefighter outfit",
        "a {0} in a police outfit",
        "a {0} wearing pink glasses",
        "a {0} wearing a yellow shirt",
        "a {0} in a purple wizard outfit",
        "a red {0}",
        "a purple {0}",
        "a shiny {0}",
        "a wet {0}",
        "a cube shaped {0}",
    ];
}
