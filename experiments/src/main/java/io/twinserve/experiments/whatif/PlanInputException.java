package io.twinserve.experiments.whatif;

/**
 * A plan request whose inputs do not go together (a deployment on a GPU the placement model does not know, another
 * base model than the deployment's, pools it cannot use), with the request field to name ({@code deployment},
 * {@code base_model}, {@code pools}).
 */
public final class PlanInputException extends IllegalArgumentException {
    private final String field;

    public PlanInputException(String field, String message) {
        super(message);
        this.field = field;
    }

    /** The request field the problem is in, as the API names it. */
    public String field() {
        return field;
    }
}
